/**
 * WebGPU in Node through Dawn (npm `webgpu`). One Dawn instance per process, created on first use and
 * released when the last device handed out is released, so the process can exit.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPUUnavailableError } from '../errors.js';
import { importPeer } from './optional.js';
import { requestDevice } from '../runtime/device.js';

let dawn: GPU | undefined;
let users = 0;

async function nodeGPU(): Promise<GPU> {
  if (dawn) return dawn;
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa's Vulkan drivers want a private runtime folder; give them one rather than a warning.
    const dir = join(tmpdir(), `xdg-runtime-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const mod = await importPeer('webgpu', 'WebGPU in Node (Dawn)', () => import('webgpu'));
  // Only the WebGPU globals this runtime lacks: Deno has its own, and replacing its classes would make its
  // own devices fail `instanceof GPUDevice`.
  for (const [name, value] of Object.entries(mod.globals))
    if (!(name in globalThis)) Object.assign(globalThis, { [name]: value });
  // Timestamps are quantized in browsers against timing attacks; a Node process profiling its own work
  // wants them exact (per-dispatch times are often well under Dawn's 2^16 ns quantum).
  dawn = mod.create(['disable-dawn-features=timestamp_quantization']) as unknown as GPU;
  return dawn;
}

/** A device on the best adapter Node can see; `release()` when done. */
export async function acquireNodeDevice(): Promise<{
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  release: () => void;
}> {
  const gpu = await nodeGPU();
  let result: Awaited<ReturnType<typeof requestDevice>>;
  try {
    result = await requestDevice(gpu);
  } catch (err) {
    if (users === 0) dawn = undefined;
    if (err instanceof GPUUnavailableError) {
      throw new GPUUnavailableError(
        `${err.message}. On Linux without a GPU, run \`npm run setup\` (installs Mesa's lavapipe Vulkan driver).`,
      );
    }
    throw err;
  }
  users++;
  let released = false;
  return {
    gpu,
    ...result,
    release() {
      if (released) return;
      released = true;
      result.device.destroy();
      if (--users === 0) dawn = undefined;
    },
  };
}

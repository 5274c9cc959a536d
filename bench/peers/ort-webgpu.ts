/**
 * Peer: ONNX Runtime Web's WebGPU execution provider, on the same Dawn instance, running an ONNX file of
 * the same network (written by src/export/onnx.ts from the graph the engine loads, before the engine's
 * own passes: ORT fuses what it can by itself). Three things make it run in Node:
 * - its Node entry registers only the cpu/wasm providers, so the WebGPU build is imported by path;
 * - its wasm heap may be a SharedArrayBuffer, which Dawn refuses: views into one are copied before
 *   GPUQueue.writeBuffer and setBindGroup's dynamic offsets;
 * - Dawn resolves promises only while Node's event loop has work: a timer runs during each call.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { whileGPU } from '../../src/runtime/keep-alive.js';
import { provideNavigatorGpu, type Peer } from './peer.js';

type Ort = typeof import('onnxruntime-web');

function copyShared<T extends ArrayBufferView | ArrayBufferLike | undefined>(data: T): T {
  if (
    data &&
    ArrayBuffer.isView(data) &&
    typeof SharedArrayBuffer !== 'undefined' &&
    data.buffer instanceof SharedArrayBuffer
  ) {
    return new (data.constructor as new (d: ArrayBufferView) => T)(data);
  }
  return data;
}

/** Patches Dawn's GPUQueue.writeBuffer and setBindGroup (once) to copy SharedArrayBuffer views. */
function acceptSharedMemory(): void {
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  const queue = g.GPUQueue?.prototype;
  if (queue && !queue.__sharedSafe) {
    const write = queue.writeBuffer as (...a: unknown[]) => void;
    queue.writeBuffer = function (this: unknown, buffer: unknown, offset: unknown, data: unknown, ...rest: unknown[]) {
      if (data instanceof SharedArrayBuffer) data = new Uint8Array(data).slice();
      return write.call(this, buffer, offset, copyShared(data as ArrayBufferView), ...rest);
    };
    queue.__sharedSafe = true;
  }
  for (const cls of ['GPUComputePassEncoder', 'GPURenderPassEncoder']) {
    const proto = g[cls]?.prototype;
    if (!proto || proto.__sharedSafe) continue;
    const set = proto.setBindGroup as (...a: unknown[]) => void;
    proto.setBindGroup = function (
      this: unknown,
      index: unknown,
      group: unknown,
      offsets?: unknown,
      ...rest: unknown[]
    ) {
      return set.call(this, index, group, copyShared(offsets as ArrayBufferView | undefined), ...rest);
    };
    proto.__sharedSafe = true;
  }
}

export async function ortWebGPU(gpu: GPU, onnx: Uint8Array, size = 224): Promise<Peer> {
  provideNavigatorGpu(gpu);
  acceptSharedMemory();
  // ORT_WEB_DIST: where a bundled bench (the GPU machine's .gpu/) keeps onnxruntime-web's dist files.
  const dist = process.env.ORT_WEB_DIST ?? dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const ort = (await import(pathToFileURL(join(dist, 'ort.webgpu.min.mjs')).href)) as Ort;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = pathToFileURL(`${dist}/`).href;
  ort.env.logLevel = 'error';
  let session: import('onnxruntime-web').InferenceSession | undefined;
  return {
    name: `ort-web ${ort.env.versions.web ?? ''} webgpu`.replace('  ', ' '),
    async load() {
      const t0 = performance.now();
      session = await whileGPU(
        ort.InferenceSession.create(onnx, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' }),
      );
      return performance.now() - t0;
    },
    async run(input, batch) {
      const s = session!;
      const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', input, [batch, size, size, 3]) };
      const out = await whileGPU(s.run(feeds));
      const y = out[s.outputNames[0]!]!;
      const data = new Float32Array((await whileGPU(y.getData())) as Float32Array);
      y.dispose();
      return data;
    },
    async dispose() {
      await session?.release();
    },
  };
}

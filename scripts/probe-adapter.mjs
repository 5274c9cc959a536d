// Prints the name of the WebGPU adapter Node gets through Dawn, or exits 1 when there is none.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(tmpdir(), `xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const keepAlive = setInterval(() => {}, 50);
const adapter = await create([]).requestAdapter();
clearInterval(keepAlive);
if (!adapter) process.exit(1);
const info = adapter.info;
console.log(
  [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unnamed adapter',
);
process.exit(0);

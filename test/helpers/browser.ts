/** The demo server and Debian's Chromium (playwright-core) for the browser tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../src/node/paths.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts scripts/demo-server.mjs on a free port; resolves to its URL and a stop function. */
export async function startDemoServer(): Promise<{ url: string; stop: () => void }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (Debian/Ubuntu: apt-get install chromium; npm run setup does) or set CHROMIUM_PATH`);
  const root = packageRoot();
  const server: ChildProcess = spawn(process.execPath, [join(root, 'scripts', 'demo-server.mjs'), '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString());
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
  });
  return { url, stop: () => server.kill() };
}

/** Headless Chromium, with WebGPU (SwiftShader) or without, plus any extra flags. */
export function launchChromium(webgpu: boolean, extra: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extra] });
}

/** Runs in the page: whether the status is one of `states` or an error. */
export function statusIn(states: string[]): boolean {
  const t = document.querySelector('[data-testid=status]')?.textContent ?? '';
  return states.includes(t) || t.startsWith('error');
}

/**
 * The demo page in a real browser: Debian's Chromium driven by playwright-core, WebGPU on Chromium's
 * SwiftShader. Three bundled photos go through the page's file input; each top-1 must equal the Node
 * engine's on the same file. Without --enable-unsafe-webgpu the page must say WebGPU is unavailable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';

const root = packageRoot();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const IMAGES = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'];
let server: ChildProcess;
let url: string;
const browsers: Browser[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (Debian/Ubuntu: apt-get install chromium; npm run setup does) or set CHROMIUM_PATH`);
  server = spawn(process.execPath, [join(root, 'scripts', 'demo-server.mjs'), '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString());
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
  });
});

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.kill();
});

async function launch(webgpu: boolean): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: webgpu ? [...ARGS, '--enable-unsafe-webgpu'] : ARGS });
  browsers.push(browser);
  return browser;
}

/** Runs in the page: whether the status is one of `states` or an error. */
function statusIn(states: string[]): boolean {
  const t = document.querySelector('[data-testid=status]')?.textContent ?? '';
  return states.includes(t) || t.startsWith('error');
}

describe('demo page in Chromium (SwiftShader WebGPU)', () => {
  it('classifies three bundled photos through the file input with the Node engine\'s top-1', async () => {
    const node = await loadResNet();
    const want: number[] = [];
    for (const f of IMAGES) want.push((await node.classify(join(root, 'demo', 'samples', f), { topK: 1 }))[0]!.index);
    node.dispose();

    const page = await (await launch(true)).newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(statusIn, ['ready'], { timeout: 600_000 });
    expect(await page.getByTestId('status').textContent()).toBe('ready');
    expect(await page.locator('#adapter').textContent()).toMatch(/adapter: \S+/);
    const got: number[] = [];
    for (const f of IMAGES) {
      await page.setInputFiles('input[type=file]', join(root, 'demo', 'samples', f));
      await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
      expect(await page.getByTestId('status').textContent(), f).toBe('done');
      const rows = await page.getByTestId('prediction').evaluateAll((els) => els.map((e) => ({ index: Number((e as HTMLElement).dataset.index), p: Number((e as HTMLElement).dataset.probability) })));
      expect(rows).toHaveLength(5);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.p).toBeLessThanOrEqual(rows[i - 1]!.p);
      got.push(rows[0]!.index);
      console.log(`${f}: browser top-1 ${rows[0]!.index} (${rows[0]!.p.toFixed(4)}); ${await page.locator('#latency').textContent()}`);
    }
    expect(got).toEqual(want);
    // GPU preprocessing in the browser: ImageBitmap -> texture -> resize/crop/normalize kernel
    const gpuPre = await page.evaluate(async (files: string[]) => {
      const { model, imageToTexture } = (window as unknown as { webgpuResnet: { model: any; imageToTexture: (d: GPUDevice, i: ImageBitmap) => GPUTexture } }).webgpuResnet;
      const out = [];
      for (const f of files) {
        const bitmap = await createImageBitmap(await (await fetch(`samples/${f}`)).blob());
        const texture = imageToTexture(model.device, bitmap);
        const gpu: Float32Array = await model.inferTexture(texture, { output: 'input' });
        const cpu: Float32Array = await model.preprocess(bitmap);
        let diff = 0;
        for (let i = 0; i < cpu.length; i++) diff = Math.max(diff, Math.abs(gpu[i]! - cpu[i]!));
        out.push({ diff, gpuTop1: (await model.classifyTexture(texture, { topK: 1 }))[0].index, cpuTop1: (await model.classify(bitmap, { topK: 1 }))[0].index });
        texture.destroy();
      }
      return out;
    }, IMAGES.slice(0, 2));
    console.log(`GPU preprocessing in Chromium: ${JSON.stringify(gpuPre)}`);
    for (const r of gpuPre) {
      expect(r.diff).toBeLessThanOrEqual(1); // caffe units: 1/255 of the pixel range
      expect(r.gpuTop1).toBe(r.cpuTop1);
    }
    expect(errors).toEqual([]);
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output', 'demo-chromium.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(root, 'test-output', 'demo-chromium-phone.png'), fullPage: true });
  });

  it('says plainly that WebGPU is unavailable when Chromium runs without it', async () => {
    const page = await (await launch(false)).newPage();
    await page.goto(url);
    await page.waitForFunction(statusIn, ['ready'], { timeout: 120_000 });
    const status = await page.getByTestId('status').textContent();
    expect(status).toMatch(/^error: WebGPU is (not available|present but no GPU adapter)/);
    expect(status).toMatch(/enable-unsafe-webgpu/);
    expect(await page.locator('input[type=file]').isDisabled()).toBe(true);
  });
});

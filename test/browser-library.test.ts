/**
 * The browser build as a library, in Chromium: a page without a bundler (demo/plain.html: an import map,
 * dist/ served as is) classifies on the page and in a worker; images go to the GPU and through the
 * preprocessing kernel with the CPU path's answers; and no JS copy of the weights outlives loadResNet()
 * (the page's heap, ArrayBuffers included, after a forced GC).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactPretrainedPath } from '../src/node/compact-cache.js';
import { ENGINES, launchBrowser, startDemoServer } from './helpers/browser.js';
import { sharedPath } from './helpers/needs.js';

const sampleDir = sharedPath('data', 'imagenet-sample');
let server: Awaited<ReturnType<typeof startDemoServer>>;
let browser: Browser;

beforeAll(async () => {
  server = await startDemoServer();
  browser = await launchBrowser(ENGINES[0]!);
});
afterAll(async () => {
  await browser?.close();
  server?.stop();
});

/** A fresh page of the demo's origin (its own browser context: a renderer of its own) with the library imported. */
async function libraryPage(): Promise<{ page: Page; cdp: CDPSession; close: () => Promise<void> }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(`${server.url}samples.json`);
  // a string: vitest would rewrite an import() inside a function it compiled
  await page.evaluate('import("/lib/browser.js").then((lib) => { window.lib = lib; })');
  return { page, cdp: await page.createCDPSession(), close: () => context.close() };
}

/** The page's JS heap plus ArrayBuffer backing stores after a forced GC, in MB. */
async function heapMB(cdp: CDPSession): Promise<{ heap: number; buffers: number; total: number }> {
  for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage');
  const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
  const buffers = usage.backingStorageSize ?? Number.NaN;
  return { heap: usage.usedSize / 1e6, buffers: buffers / 1e6, total: (usage.usedSize + buffers) / 1e6 };
}

describe('Chromium, the browser build without a bundler', () => {
  it('demo/plain.html (import map, dist/ as is) classifies the zebra on the page and in a worker', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}plain.html`);
      await page.waitForFunction(() => document.querySelector('#out')?.textContent !== 'loading...', {
        timeout: 600_000,
      });
      const result = JSON.parse((await page.$eval('#out', (e) => e.textContent))!);
      console.log(`plain.html: ${JSON.stringify(result)}`);
      expect(result.page).toMatchObject({ index: 340, label: 'zebra' });
      expect(result.worker).toMatchObject({ index: 340, label: 'zebra' });
    } finally {
      await page.close();
    }
  });

  it("images on the GPU (preprocessing kernel) give the CPU path's top-1 and probabilities within 1e-4", async () => {
    const files = (await readdir(sampleDir))
      .filter((f) => f.endsWith('.JPEG'))
      .sort()
      .filter((_, i) => i % 8 === 0);
    const photos = await Promise.all(files.map(async (f) => (await readFile(join(sampleDir, f))).toString('base64')));
    const { page, close } = await libraryPage();
    try {
      const result = await page.evaluate(async (photos: string[]) => {
        type Model = {
          classify(i: unknown, o: object): Promise<unknown>;
          infer(x: Float32Array): Promise<Float32Array>;
          preprocess(i: unknown): Promise<Float32Array>;
          inferTexture(t: unknown, o?: object): Promise<Float32Array>;
          device: GPUDevice;
          dispose(): void;
        };
        const lib = (
          window as unknown as {
            lib: { loadResNet(o: object): Promise<Model>; imageToTexture(d: GPUDevice, i: unknown): GPUTexture };
          }
        ).lib;
        const model = await lib.loadResNet({ source: '/weights/resnet50-int8.safetensors', cache: false });
        const rows = [];
        for (const [i, b64] of photos.entries()) {
          const image = new Image();
          image.src = URL.createObjectURL(
            new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }),
          );
          await image.decode();
          if (i === 0) await model.classify(image, {}); // warm-up: pipelines of the texture path
          const t0 = performance.now();
          const texture = lib.imageToTexture(model.device, image); // what classify(image) does, as probabilities
          const gpu = await model.inferTexture(texture);
          texture.destroy();
          const t1 = performance.now();
          const cpu = await model.infer(await model.preprocess(image));
          const t2 = performance.now();
          // the preprocessing alone: the kernel's output read back, and the CPU path
          const texture2 = lib.imageToTexture(model.device, image);
          await model.inferTexture(texture2, { output: 'input' });
          texture2.destroy();
          const t3 = performance.now();
          await model.preprocess(image);
          const t4 = performance.now();
          let diff = 0;
          for (let k = 0; k < gpu.length; k++) diff = Math.max(diff, Math.abs(gpu[k]! - cpu[k]!));
          const top = (p: Float32Array) => p.indexOf(Math.max(...p));
          rows.push({
            gpuTop: top(gpu),
            cpuTop: top(cpu),
            diff,
            gpuMs: t1 - t0,
            cpuMs: t2 - t1,
            gpuPreMs: t3 - t2,
            cpuPreMs: t4 - t3,
          });
        }
        model.dispose();
        return rows;
      }, photos);
      const mean = (k: 'gpuMs' | 'cpuMs' | 'gpuPreMs' | 'cpuPreMs') =>
        result.slice(1).reduce((a, r) => a + r[k], 0) / (result.length - 1);
      console.log(
        `GPU vs CPU preprocessing, ${result.length} photos: max |p diff| ${Math.max(...result.map((r) => r.diff)).toExponential(2)}; ms per image (network included) GPU ${mean('gpuMs').toFixed(0)} vs CPU ${mean('cpuMs').toFixed(0)}; preprocessing alone GPU ${mean('gpuPreMs').toFixed(1)} vs CPU ${mean('cpuPreMs').toFixed(1)}`,
      );
      for (const [i, r] of result.entries()) {
        expect(r.gpuTop, files[i]).toBe(r.cpuTop);
        expect(r.diff, files[i]).toBeLessThan(1e-4);
      }
    } finally {
      await close();
    }
  });

  it.each([
    ['int8', '/weights/resnet50-int8.safetensors', false],
    ['f16', '/weights/resnet50-f16.safetensors', false],
    ['f32', '/weights/model.json', false],
    ['int8, recover: true', '/weights/resnet50-int8.safetensors', true],
  ] as const)('page memory after loading ResNet-50 (%s)', async (name, source, recover) => {
    const { page, cdp, close } = await libraryPage();
    try {
      const before = await heapMB(cdp);
      await page.evaluate(
        async (source: string, recover: boolean) => {
          const lib = (window as unknown as { lib: { loadResNet(o: object): Promise<unknown> } }).lib;
          (window as unknown as { model: unknown }).model = await lib.loadResNet({ source, cache: false, recover });
        },
        source,
        recover,
      );
      const after = await heapMB(cdp);
      const grew = after.total - before.total;
      console.log(
        `${name}: heap + ArrayBuffers ${before.total.toFixed(1)} -> ${after.total.toFixed(1)} MB (+${grew.toFixed(1)}; JS heap ${before.heap.toFixed(1)} -> ${after.heap.toFixed(1)}, buffers ${before.buffers.toFixed(1)} -> ${after.buffers.toFixed(1)})`,
      );
      if (!recover) expect(grew).toBeLessThan(16);
      else {
        const fileMB = (await readFile(compactPretrainedPath('int8'))).length / 1e6;
        expect(grew).toBeLessThan(fileMB + 16);
        expect(grew).toBeGreaterThan(fileMB * 0.9); // the packed weights are kept, to upload again after a loss
      }
    } finally {
      await close();
    }
  });
});

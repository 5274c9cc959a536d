/**
 * The demo as a web app, in headless Chromium (SwiftShader): its default model (int8 compact weights) runs
 * in a Worker; the weight file is kept in the Cache API, so a reload downloads nothing (counted by the
 * demo server) and says `cache`; a cut-short cache entry is fetched again; the main thread's longest task
 * during an inference, worker vs main thread; and live mode on Chromium's fake camera playing a .y4m
 * made from a bundled photo: the live top-1 equals that photo's still top-1.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { launchChromium, startDemoServer, statusIn } from './helpers/browser.js';
import { photoToY4m } from './helpers/y4m.js';

const root = packageRoot();
const sample = (f: string) => join(root, 'demo', 'samples', f);
const IMAGES = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'];
const ZEBRA = '340_n02391049_zebra.JPEG';
const INT8 = '/weights/resnet50-int8.safetensors';
let server: { url: string; stop: () => void };
let work: string;
const browsers: Browser[] = [];

beforeAll(async () => {
  server = await startDemoServer();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-app-'));
});
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.stop();
  await rm(work, { recursive: true, force: true });
});

const requests = async (path: string): Promise<number> => ((await (await fetch(`${server.url}_requests`)).json()) as Record<string, number>)[path] ?? 0;
const ready = (page: Page) => page.waitForFunction(statusIn, ['ready'], { timeout: 600_000 });
const top1 = (page: Page) => page.getByTestId('prediction').first().getAttribute('data-index').then(Number);

async function classifyFile(page: Page, file: string): Promise<number> {
  await page.setInputFiles('#file', sample(file));
  await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
  expect(await page.getByTestId('status').textContent(), file).toBe('done');
  return top1(page);
}

/** Records every main-thread task over 50 ms (PerformanceObserver 'longtask') from the start of each page. */
const LONGTASKS = `window.longtasks = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longtasks.push(e.duration))).observe({ type: 'longtask', buffered: true });`;
const longest = (page: Page) => page.evaluate(() => Math.max(0, ...(window as unknown as { longtasks: number[] }).longtasks));
const resetLongest = (page: Page) => page.evaluate(() => void ((window as unknown as { longtasks: number[] }).longtasks.length = 0));

/** The longest main-thread task while the page loads its model, and while it classifies `file`. */
async function mainThreadLoad(page: Page, file: string): Promise<{ load: number; inference: number }> {
  await ready(page);
  const load = await longest(page);
  await resetLongest(page);
  await classifyFile(page, file);
  await page.waitForTimeout(200);
  return { load, inference: await longest(page) };
}

describe('the demo as a web app (Chromium, SwiftShader WebGPU)', () => {
  it('int8 weights in a worker, kept across visits: a reload downloads no weights; a cut-short cache entry is fetched again; the main thread stays free', async () => {
    const node = await loadResNet({ precision: 'int8' });
    const want = await Promise.all(IMAGES.map(async (f) => (await node.classify(sample(f), { topK: 1 }))[0]!.index));
    node.dispose();
    const browser = await launchChromium(true);
    browsers.push(browser);
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.addInitScript(LONGTASKS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const before = await requests(INT8);
    await page.goto(server.url);
    await ready(page);
    expect(await page.getByTestId('weights-source').textContent()).toBe('network');
    expect(await requests(INT8)).toBe(before + 1);
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toContain('/resnet-worker.js');
    const size = await page.locator('#progress-text').textContent();
    console.log(`first visit: ${size}`);
    expect(size).toMatch(/int8 \(compact, default\): 25\.\d MB downloaded/);
    const got = [];
    for (const f of IMAGES) got.push(await classifyFile(page, f));
    expect(got).toEqual(want);
    // the class activation map of the clicked class, over the image (the container ship, last classified)
    await page.getByTestId('prediction').first().click();
    await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
    expect(await page.getByTestId('heatmap').isVisible()).toBe(true);
    expect(Number(await page.getByTestId('heatmap').getAttribute('data-class'))).toBe(want[2]);
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.locator('#result').screenshot({ path: join(root, 'test-output', 'demo-heatmap.png') });

    await page.reload();
    const inWorker = await mainThreadLoad(page, ZEBRA);
    expect(await page.getByTestId('weights-source').textContent()).toBe('cache');
    expect(await requests(INT8)).toBe(before + 1);
    expect(await top1(page)).toBe(want[1]);

    // errors cross the worker boundary as the engine's classes
    const refused = await page.evaluate(async () => {
      const { model, InputError } = (window as unknown as { webgpuResnet: { model: { infer(x: Float32Array): Promise<unknown> }; InputError: new () => Error } }).webgpuResnet;
      const err = await model.infer(new Float32Array(5)).then(() => undefined, (e: unknown) => e as Error);
      return { isInputError: err instanceof InputError, name: err?.name, message: err?.message };
    });
    expect(refused).toMatchObject({ isInputError: true, name: 'InputError' });
    expect(refused.message).toMatch(/values/);

    // dispose() ends the worker
    const worker = page.workers().find((w) => w.url().endsWith('/resnet-worker.js'))!;
    const closed = new Promise<void>((r) => worker.on('close', () => r()));
    await page.evaluate(() => (window as unknown as { webgpuResnet: { model: { dispose(): void } } }).webgpuResnet.model.dispose());
    await closed;
    expect(page.workers().filter((w) => w.url().endsWith('/resnet-worker.js'))).toEqual([]);

    // cut the cached file short (its recorded byte count stays): the next visit drops it and downloads it again
    await page.evaluate(async (path) => {
      const cache = await caches.open('webgpu-resnet-weights-v1');
      const key = (await cache.keys()).find((r) => new URL(r.url).pathname === path)!;
      const whole = await (await cache.match(key))!.arrayBuffer();
      await cache.put(key, new Response(whole.slice(0, 1000), { headers: { 'x-webgpu-resnet-bytes': String(whole.byteLength) } }));
    }, INT8);
    await page.reload();
    await ready(page);
    expect(await page.getByTestId('weights-source').textContent()).toBe('network');
    expect(await requests(INT8)).toBe(before + 2);
    expect(await classifyFile(page, ZEBRA)).toBe(want[1]);

    // the same model on the page's main thread, for comparison
    await page.goto(`${server.url}?worker=0`);
    const onMain = await mainThreadLoad(page, ZEBRA);
    expect(await page.getByTestId('weights-source').textContent()).toBe('cache');
    console.log(`longest main-thread task (ms; 0: none over 50 ms), loading from the cache / classifying the zebra: model in a worker ${inWorker.load.toFixed(0)} / ${inWorker.inference.toFixed(0)}, on the main thread ${onMain.load.toFixed(0)} / ${onMain.inference.toFixed(0)}`);
    expect(inWorker.load).toBeLessThan(onMain.load);
    expect(inWorker.inference).toBeLessThanOrEqual(onMain.inference);
    expect(errors).toEqual([]);
  });

  it('live mode: the fake camera playing a bundled photo gets that photo\'s still top-1, with frames per second; the button stops it', async () => {
    const video = join(work, 'zebra.y4m');
    await photoToY4m(sample(ZEBRA), video);
    const browser = await launchChromium(true, ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
    browsers.push(browser);
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.grantPermissions(['camera'], { origin: server.url });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await ready(page);
    const still = await classifyFile(page, ZEBRA);
    await page.getByTestId('camera').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=fps]')?.textContent) > 0, undefined, { timeout: 600_000 });
    const live = page.getByTestId('live-prediction');
    const index = Number(await live.getAttribute('data-index'));
    const fps = Number(await page.getByTestId('fps').textContent());
    console.log(`live: top-1 ${index} (${Number(await live.getAttribute('data-probability')).toFixed(3)}), ${fps} frames/s; still image: ${still}`);
    expect(index).toBe(still);
    expect(await page.getByTestId('camera').getAttribute('aria-pressed')).toBe('true');
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output', 'demo-live-1100.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(root, 'test-output', 'demo-live-390.png'), fullPage: true });
    await page.getByTestId('camera').click();
    expect(await page.getByTestId('camera').getAttribute('aria-pressed')).toBe('false');
    expect(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#live video')!.srcObject === null)).toBe(true);
    expect(errors).toEqual([]);
  });
});

/**
 * The demo as a web app, in both browser engines (test/helpers/browser.ts: Chromium on SwiftShader,
 * Firefox on lavapipe): its default model (int8 compact weights) runs in a Worker; the weight file is kept
 * in the Cache API, so a reload downloads nothing (counted by the demo server) and says `cache`; a
 * cut-short cache entry is fetched again; the main thread's longest stall, worker vs main thread; and
 * live mode on a fake camera showing a bundled photo: the live top-1 equals that photo's still top-1.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import {
  attribute,
  cameraShowing,
  ENGINES,
  launchBrowser,
  longestStall,
  pickFile,
  predictions,
  resetStalls,
  startDemoServer,
  status,
  text,
  waitForStatus,
  watchStalls,
  type Engine,
} from './helpers/browser.js';
import { photoToY4m } from './helpers/y4m.js';

const root = packageRoot();
const sample = (f: string) => join(root, 'demo', 'samples', f);
const IMAGES = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'];
const ZEBRA = '340_n02391049_zebra.JPEG';
const INT8 = '/weights/resnet50-int8.safetensors';
const WORKER = '/resnet-worker.js';
let server: { url: string; stop: () => void };
let work: string;
let want: number[]; // the Node engine's int8 top-1 of IMAGES
const browsers: Browser[] = [];

beforeAll(async () => {
  server = await startDemoServer();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-app-'));
  const node = await loadResNet({ precision: 'int8' });
  want = await Promise.all(IMAGES.map(async (f) => (await node.classify(sample(f), { topK: 1 }))[0]!.index));
  node.dispose();
});
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.stop();
  await rm(work, { recursive: true, force: true });
});

const requests = async (path: string): Promise<number> =>
  ((await (await fetch(`${server.url}_requests`)).json()) as Record<string, number>)[path] ?? 0;
const ready = async (page: Page) => expect(await waitForStatus(page, ['ready'])).toBe('ready');
const top1 = async (page: Page) => (await predictions(page))[0]!.index;
const workerUrls = (page: Page) => page.workers().map((w) => new URL(w.url()).pathname);

async function classifyFile(page: Page, file: string): Promise<number> {
  expect(await pickFile(page, sample(file)), file).toBe('done');
  return top1(page);
}

async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
  return page;
}

/** The longest main-thread stall while the page loads its model, and while it classifies `file`. */
async function mainThreadLoad(page: Page, file: string): Promise<{ load: number; inference: number }> {
  await ready(page);
  const load = await longestStall(page);
  await resetStalls(page);
  await classifyFile(page, file);
  await new Promise((r) => setTimeout(r, 200));
  return { load, inference: await longestStall(page) };
}

/** Starts the camera, waits for a frames-per-second figure; returns the live top-1 and the rate. */
async function goLive(page: Page): Promise<{ index: number; probability: number; fps: number }> {
  await page.click('[data-testid=camera]');
  await page.waitForFunction(
    () =>
      Number(document.querySelector('[data-testid=fps]')?.textContent) > 0 ||
      document.querySelector('[data-testid=status]')?.textContent?.startsWith('error'),
    { timeout: 600_000, polling: 200 },
  );
  expect(await status(page)).not.toMatch(/^error/);
  return {
    index: Number(await attribute(page, '[data-testid=live-prediction]', 'data-index')),
    probability: Number(await attribute(page, '[data-testid=live-prediction]', 'data-probability')),
    fps: Number(await text(page, '[data-testid=fps]')),
  };
}

async function stopCamera(page: Page): Promise<void> {
  await page.click('[data-testid=camera]');
  expect(await attribute(page, '[data-testid=camera]', 'aria-pressed')).toBe('false');
  expect(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#live video')!.srcObject === null)).toBe(
    true,
  );
}

describe.each(ENGINES.map((e) => [e.label, e] as const))('the demo as a web app in %s', (_label, engine: Engine) => {
  it('int8 weights in a worker, kept across visits: a reload downloads no weights; a cut-short cache entry is fetched again; the main thread stays free', async () => {
    const browser = await launchBrowser(engine);
    browsers.push(browser);
    const errors: string[] = [];
    const page = await newPage(browser, errors);
    await watchStalls(page);

    const before = await requests(INT8);
    const workersBefore = await requests(WORKER);
    await page.goto(server.url);
    await ready(page);
    expect(await text(page, '[data-testid=weights-source]')).toBe('network');
    expect(await requests(INT8)).toBe(before + 1);
    expect(await requests(WORKER)).toBe(workersBefore + 1);
    expect(workerUrls(page)).toContain(WORKER);
    const loaded = await text(page, '#progress-text');
    console.log(`${engine.name} first visit: ${loaded}`);
    expect(loaded).toMatch(/int8 \(compact, default\): 25\.\d MB downloaded/);
    const got = [];
    for (const f of IMAGES) got.push(await classifyFile(page, f));
    console.log(`${engine.name} int8 in the worker: ${await text(page, '#latency')}`);
    expect(got).toEqual(want);
    // the class activation map of the clicked class, over the image (the container ship, last classified)
    await page.click('[data-testid=prediction]');
    expect(await waitForStatus(page, ['done'])).toBe('done');
    expect(await page.$eval('[data-testid=heatmap]', (e) => !(e as HTMLElement).hidden)).toBe(true);
    expect(Number(await attribute(page, '[data-testid=heatmap]', 'data-class'))).toBe(want[2]);
    await mkdir(join(root, 'test-output'), { recursive: true });
    await (await page.$('#result'))!.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-heatmap.png`) });

    await page.reload();
    const inWorker = await mainThreadLoad(page, ZEBRA);
    expect(await text(page, '[data-testid=weights-source]')).toBe('cache');
    expect(await requests(INT8)).toBe(before + 1);
    expect(await top1(page)).toBe(want[1]);

    // errors cross the worker boundary as the engine's classes
    const refused = await page.evaluate(async () => {
      const { model, InputError } = (
        window as unknown as {
          webgpuResnet: { model: { infer(x: Float32Array): Promise<unknown> }; InputError: new () => Error };
        }
      ).webgpuResnet;
      const err = await model.infer(new Float32Array(5)).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      return { isInputError: err instanceof InputError, name: err?.name, message: err?.message };
    });
    expect(refused).toMatchObject({ isInputError: true, name: 'InputError' });
    expect(refused.message).toMatch(/values/);

    // dispose() ends the worker
    const closed = new Promise<void>((resolve) =>
      page.on('workerdestroyed', (w) => new URL(w.url()).pathname === WORKER && resolve()),
    );
    await page.evaluate(() =>
      (window as unknown as { webgpuResnet: { model: { dispose(): void } } }).webgpuResnet.model.dispose(),
    );
    await closed;
    expect(workerUrls(page)).not.toContain(WORKER);

    // cut the cached file short (its recorded byte count stays): the next visit drops it and downloads it again
    await page.evaluate(async (path: string) => {
      const cache = await caches.open('webgpu-resnet-weights-v1');
      const key = (await cache.keys()).find((r) => new URL(r.url).pathname === path)!;
      const whole = await (await cache.match(key))!.arrayBuffer();
      await cache.put(
        key,
        new Response(whole.slice(0, 1000), { headers: { 'x-webgpu-resnet-bytes': String(whole.byteLength) } }),
      );
    }, INT8);
    await page.reload();
    await ready(page);
    expect(await text(page, '[data-testid=weights-source]')).toBe('network');
    expect(await requests(INT8)).toBe(before + 2);
    expect(await classifyFile(page, ZEBRA)).toBe(want[1]);

    // the same model on the page's main thread, for comparison
    await page.goto(`${server.url}?worker=0`);
    const onMain = await mainThreadLoad(page, ZEBRA);
    expect(await text(page, '[data-testid=weights-source]')).toBe('cache');
    console.log(
      `${engine.name} longest main-thread stall (ms; 0: none over 50 ms), loading from the cache / classifying the zebra: model in a worker ${inWorker.load.toFixed(0)} / ${inWorker.inference.toFixed(0)}, on the main thread ${onMain.load.toFixed(0)} / ${onMain.inference.toFixed(0)}`,
    );
    expect(inWorker.load).toBeLessThan(onMain.load);
    expect(inWorker.inference).toBeLessThanOrEqual(onMain.inference);
    expect(errors).toEqual([]);
  });

  it("live mode: a fake camera showing a bundled photo gets that photo's still top-1, with frames per second; the button stops it", async () => {
    const video = join(work, 'zebra.y4m');
    await photoToY4m(sample(ZEBRA), video);
    const browser = await launchBrowser(engine, { camera: { y4m: video } });
    browsers.push(browser);
    const errors: string[] = [];
    const page = await newPage(browser, errors);
    await page.goto(server.url);
    await ready(page);
    const still = await classifyFile(page, ZEBRA);
    if (engine.name === 'firefox') {
      // Firefox's own fake camera: frames reach the model and are counted; then the photo, as a canvas stream
      const pattern = await goLive(page);
      console.log(
        `${engine.name} live on its fake camera (a generated pattern): top-1 ${pattern.index} (${pattern.probability.toFixed(3)}), ${pattern.fps} frames/s`,
      );
      await stopCamera(page);
      await cameraShowing(page, `samples/${ZEBRA}`);
    }
    const live = await goLive(page);
    console.log(
      `${engine.name} live: top-1 ${live.index} (${live.probability.toFixed(3)}), ${live.fps} frames/s; still image: ${still}`,
    );
    expect(live.index).toBe(still);
    expect(await attribute(page, '[data-testid=camera]', 'aria-pressed')).toBe('true');
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-live-1100.png`), fullPage: true });
    await page.setViewport({ width: 390, height: 844 });
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-live-390.png`), fullPage: true });
    await stopCamera(page);
    expect(errors).toEqual([]);
  });
});

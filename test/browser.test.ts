/**
 * The demo page in a real browser: Debian's Chromium driven by playwright-core, WebGPU on Chromium's
 * SwiftShader. Three bundled photos go through the page's file input; each top-1 must equal the Node
 * engine's on the same file. Without --enable-unsafe-webgpu the page must say WebGPU is unavailable.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity, loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { launchChromium, startDemoServer, statusIn } from './helpers/browser.js';

const root = packageRoot();
const IMAGES = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'];
const HUSKY = '250_n02110185_Siberian_husky.JPEG';
const CHOW = '260_n02112137_chow.JPEG';
let server: { url: string; stop: () => void };
let url: string;
const browsers: Browser[] = [];

beforeAll(async () => {
  server = await startDemoServer();
  url = server.url;
});

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.stop();
});

async function launch(webgpu: boolean): Promise<Browser> {
  const browser = await launchChromium(webgpu);
  browsers.push(browser);
  return browser;
}

describe('demo page in Chromium (SwiftShader WebGPU)', () => {
  it('classifies three bundled photos through the file input with the Node engine\'s top-1', async () => {
    const node = await loadResNet();
    const want: number[] = [];
    for (const f of IMAGES) want.push((await node.classify(join(root, 'demo', 'samples', f), { topK: 1 }))[0]!.index);
    // for the block panel and the similarity panel: the husky without layer1.1, husky ~ chow
    const sample = (f: string) => join(root, 'demo', 'samples', f);
    const lesioned = (await node.classify(sample(HUSKY), { topK: 1, skipBlocks: ['layer1.1'] }))[0]!.index;
    const intactHusky = (await node.classify(sample(HUSKY), { topK: 1 }))[0]!.index;
    const similarity = cosineSimilarity(await node.embed(sample(HUSKY), { skipBlocks: ['layer1.1'] }), await node.embed(sample(CHOW), { skipBlocks: ['layer1.1'] }));
    const blockNames = node.blocks.map((b) => b.name);
    node.dispose();

    const page = await (await launch(true)).newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // the float32 TF.js files on the page's main thread (test/browser-app.test.ts covers the default: int8 in a worker)
    await page.goto(`${url}?weights=f32&worker=0`);
    await page.waitForFunction(statusIn, ['ready'], { timeout: 600_000 });
    expect(await page.getByTestId('status').textContent()).toBe('ready');
    expect(await page.locator('#adapter').textContent()).toMatch(/adapter: \S+/);
    const got: number[] = [];
    for (const f of IMAGES) {
      await page.setInputFiles('#file', join(root, 'demo', 'samples', f));
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

    // Block toggles: delete layer1.1, the husky is classified again as the Node engine classifies it without that block
    await page.setInputFiles('#file', sample(HUSKY));
    await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
    expect(await page.getByTestId('block-toggle').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.block))).toEqual(blockNames);
    const top1 = () => page.getByTestId('prediction').first().getAttribute('data-index').then(Number);
    expect(await top1()).toBe(intactHusky);
    await page.locator('[data-block="layer1.1"]').click();
    await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
    expect(await page.getByTestId('status').textContent()).toBe('done');
    expect(await page.locator('[data-block="layer1.1"]').getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator('#network').textContent()).toBe('network without layer1.1');
    expect(await top1()).toBe(lesioned);
    console.log(`husky in Chromium: top-1 ${intactHusky} intact, ${lesioned} without layer1.1 (Node engine: same)`);

    // GPU time per block (with layer1.1 still deleted)
    await page.locator('#profile-button').click();
    await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
    const hasTimestamps = await page.evaluate(() => (window as unknown as { webgpuResnet: { model: { device: GPUDevice } } }).webgpuResnet.model.device.features.has('timestamp-query'));
    if (hasTimestamps) {
      const rows = await page.getByTestId('profile-row').evaluateAll((els) => els.map((e) => ({ group: (e as HTMLElement).dataset.group, ms: Number((e as HTMLElement).dataset.ms) })));
      expect(rows.map((r) => r.group)).toEqual(['stem', ...blockNames, 'head']);
      expect(rows.find((r) => r.group === 'layer1.1')!.ms).toBe(0);
      for (const r of rows) if (r.group !== 'layer1.1') expect(r.ms, r.group).toBeGreaterThan(0);
      console.log(`profile in Chromium: ${await page.getByTestId('profile-total').textContent()}`);
    } else {
      expect(await page.locator('#profile-chart').textContent()).toMatch(/does not offer the 'timestamp-query' feature/);
      console.log('profile in Chromium: this adapter has no timestamp-query; the panel says so');
    }

    // Similarity of two samples' embeddings (husky and chow, the defaults), with layer1.1 still deleted
    await page.locator('#compare .compare').click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid=similarity]')?.dataset.value !== undefined, undefined, { timeout: 600_000 });
    const browserSimilarity = Number(await page.getByTestId('similarity').getAttribute('data-value'));
    console.log(`husky ~ chow in Chromium: cosine ${browserSimilarity.toFixed(4)} (Node engine ${similarity.toFixed(4)})`);
    expect(Math.abs(browserSimilarity - similarity)).toBeLessThan(0.02); // the browser decodes the JPEGs itself
    expect(errors).toEqual([]);
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output', 'demo-chromium-lesion.png'), fullPage: true });

    // all blocks back on: the intact answer again
    await page.locator('#blocks .restore').click();
    await page.waitForFunction(statusIn, ['done'], { timeout: 600_000 });
    expect(await top1()).toBe(intactHusky);
    expect(await page.locator('#network').textContent()).toBe('the whole network');
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
    expect(await page.locator('#file').isDisabled()).toBe(true);
  });
});

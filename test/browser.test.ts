/**
 * The demo page in two browser engines (test/helpers/browser.ts): Chromium (Dawn/Tint on SwiftShader) and
 * Firefox (wgpu/naga on lavapipe), so every WGSL kernel is compiled by two compilers. In each: three bundled
 * photos through the page's file input (top-1 = the Node engine's), GPU preprocessing and the texture
 * path, the same input tensor through the float32 and the f16 weights (logits against the Node engine's),
 * the residual-block toggles, the profile panel and the similarity panel. Without WebGPU the page must
 * say so in that browser's terms.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity, loadResNet, modelCacheDir } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { relativeError } from './helpers/reference.js';
import {
  attribute,
  clickAndWait,
  ENGINES,
  launchBrowser,
  pickFile,
  predictions,
  startDemoServer,
  status,
  text,
  waitForStatus,
  type Engine,
} from './helpers/browser.js';

/** What the test page exposes, used inside page.evaluate (no types cross into the page). */
// biome-ignore lint/suspicious/noExplicitAny: values that live in the browser page
type PageAny = any;

const root = packageRoot();
const sample = (f: string) => join(root, 'demo', 'samples', f);
const IMAGES = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'];
const HUSKY = '250_n02110185_Siberian_husky.JPEG';
const CHOW = '260_n02112137_chow.JPEG';
const F16 = 'resnet50-f16.safetensors'; // written into the model cache by the demo server
let server: { url: string; stop: () => void };
const browsers: Browser[] = [];

/** What the Node engine says about the same files and tensors (computed once, for both engines). */
let node: {
  top1: number[];
  intactHusky: number;
  lesioned: number;
  similarity: number;
  blockNames: string[];
  zebra: Float32Array;
  logits: { f32: Float32Array; f16: Float32Array };
};

beforeAll(async () => {
  server = await startDemoServer();
  const f32 = await loadResNet();
  const top1: number[] = [];
  for (const f of IMAGES) top1.push((await f32.classify(sample(f), { topK: 1 }))[0]!.index);
  const zebra = await f32.preprocess(sample(IMAGES[1]!));
  const f16 = await loadResNet({ source: join(modelCacheDir(), 'compact', F16) });
  node = {
    top1,
    // for the block panel and the similarity panel: the husky without layer1.1, husky ~ chow
    lesioned: (await f32.classify(sample(HUSKY), { topK: 1, skipBlocks: ['layer1.1'] }))[0]!.index,
    intactHusky: (await f32.classify(sample(HUSKY), { topK: 1 }))[0]!.index,
    similarity: cosineSimilarity(
      await f32.embed(sample(HUSKY), { skipBlocks: ['layer1.1'] }),
      await f32.embed(sample(CHOW), { skipBlocks: ['layer1.1'] }),
    ),
    blockNames: f32.blocks.map((b) => b.name),
    zebra,
    logits: { f32: await f32.infer(zebra, { output: 'logits' }), f16: await f16.infer(zebra, { output: 'logits' }) },
  };
  f32.dispose();
  f16.dispose();
});

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.stop();
});

async function open(engine: Engine, webgpu: boolean): Promise<Browser> {
  const browser = await launchBrowser(engine, { webgpu });
  browsers.push(browser);
  return browser;
}

/** In the page: logits of `input` from the page's model, and from the f16 file loaded there (input and texture path). */
async function logitsInPage(
  page: Page,
  input: number[],
): Promise<{ f32: number[]; f16: number[]; f16Precision: string; f16TextureTop1: number; f16BitmapTop1: number }> {
  return page.evaluate(
    async (x: number[], file: string) => {
      const { model, loadResNet, imageToTexture } = (
        window as unknown as {
          webgpuResnet: {
            model: PageAny;
            loadResNet: PageAny;
            imageToTexture: (d: GPUDevice, i: ImageBitmap) => GPUTexture;
          };
        }
      ).webgpuResnet;
      const f32 = Array.from((await model.infer(new Float32Array(x), { output: 'logits' })) as Float32Array);
      const half = await loadResNet({ source: new URL(`weights/${file}`, location.href) });
      try {
        const f16 = Array.from((await half.infer(new Float32Array(x), { output: 'logits' })) as Float32Array);
        const bitmap = await createImageBitmap(await (await fetch('samples/340_n02391049_zebra.JPEG')).blob());
        const texture = imageToTexture(half.device, bitmap);
        const f16TextureTop1 = (await half.classifyTexture(texture, { topK: 1 }))[0].index;
        texture.destroy();
        const f16BitmapTop1 = (await half.classify(bitmap, { topK: 1 }))[0].index;
        return { f32, f16, f16Precision: half.info.precision, f16TextureTop1, f16BitmapTop1 };
      } finally {
        half.dispose();
      }
    },
    Array.from(input),
    F16,
  );
}

describe.each(ENGINES.map((e) => [e.label, e] as const))('demo page in %s', (_label, engine) => {
  it("classifies three bundled photos with the Node engine's top-1; texture path, f32 and f16 logits as the Node engine's; block toggles, profile, similarity", async () => {
    const page = await (await open(engine, true)).newPage();
    await page.setViewport({ width: 1100, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
    // the float32 TF.js files on the page's main thread (test/browser-app.test.ts covers the default: int8 in a worker)
    await page.goto(`${server.url}?weights=f32&worker=0`);
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    const adapter = await text(page, '#adapter');
    const info = await page.evaluate(() => {
      const { model } = (
        window as unknown as {
          webgpuResnet: { model: { info: { convStrategy: string; dispatches: number }; device: GPUDevice } };
        }
      ).webgpuResnet;
      return {
        convStrategy: model.info.convStrategy,
        dispatches: model.info.dispatches,
        features: ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) =>
          model.device.features.has(f as GPUFeatureName),
        ),
      };
    });
    console.log(
      `${engine.name}: ${adapter}; features ${info.features.join(', ') || 'none of shader-f16, subgroups, timestamp-query'}; ${info.convStrategy} convolutions, ${info.dispatches} dispatches per image`,
    );
    expect(adapter).toMatch(/^adapter: \S+/);
    expect(adapter).not.toMatch(/unnamed/);
    // the subgroup kernel needs subgroups (Firefox offers none): the tiled one there
    if (!info.features.includes('subgroups')) expect(info.convStrategy).toBe('tiled');
    if (engine.name === 'firefox') expect(adapter).toBe(`adapter: WebGPU (Firefox), ${info.features.join(', ')}`);
    const got: number[] = [];
    for (const f of IMAGES) {
      expect(await pickFile(page, sample(f)), f).toBe('done');
      const rows = await predictions(page);
      expect(rows).toHaveLength(5);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.p).toBeLessThanOrEqual(rows[i - 1]!.p);
      got.push(rows[0]!.index);
      console.log(
        `${engine.name} ${f}: browser top-1 ${rows[0]!.index} (${rows[0]!.p.toFixed(4)}); ${await text(page, '#latency')}`,
      );
    }
    expect(got).toEqual(node.top1);

    // GPU preprocessing in the browser: ImageBitmap -> texture -> resize/crop/normalize kernel
    const gpuPre = await page.evaluate(
      async (files: string[]) => {
        const { model, imageToTexture } = (
          window as unknown as {
            webgpuResnet: { model: PageAny; imageToTexture: (d: GPUDevice, i: ImageBitmap) => GPUTexture };
          }
        ).webgpuResnet;
        const out = [];
        for (const f of files) {
          const bitmap = await createImageBitmap(await (await fetch(`samples/${f}`)).blob());
          const texture = imageToTexture(model.device, bitmap);
          const gpu: Float32Array = await model.inferTexture(texture, { output: 'input' });
          const cpu: Float32Array = await model.preprocess(bitmap);
          let diff = 0;
          for (let i = 0; i < cpu.length; i++) diff = Math.max(diff, Math.abs(gpu[i]! - cpu[i]!));
          out.push({
            diff,
            gpuTop1: (await model.classifyTexture(texture, { topK: 1 }))[0].index,
            cpuTop1: (await model.classify(bitmap, { topK: 1 }))[0].index,
          });
          texture.destroy();
        }
        return out;
      },
      IMAGES.slice(0, 2),
    );
    console.log(`${engine.name} GPU preprocessing / texture path: ${JSON.stringify(gpuPre)}`);
    for (const r of gpuPre) {
      expect(r.diff).toBeLessThanOrEqual(1); // caffe units: 1/255 of the pixel range
      expect(r.gpuTop1).toBe(r.cpuTop1);
    }

    // one tensor (the Node engine's preprocessed zebra) through the float32 and the f16 weights: the logits of
    // this compiler's kernels against the Node engine's (Dawn on lavapipe); f16 weights are unpacked with
    // unpack2x16float, so they run with or without shader-f16
    const logits = await logitsInPage(page, Array.from(node.zebra));
    const error = {
      f32: relativeError(Float32Array.from(logits.f32), node.logits.f32),
      f16: relativeError(Float32Array.from(logits.f16), node.logits.f16),
    };
    console.log(
      `${engine.name} logits vs the Node engine (max abs diff / max |logit|): f32 ${error.f32.toExponential(2)}, f16 ${error.f16.toExponential(2)}; f16 zebra top-1 by texture ${logits.f16TextureTop1}, by bitmap ${logits.f16BitmapTop1}`,
    );
    expect(logits.f16Precision).toBe('f16');
    expect(error.f32).toBeLessThan(1e-4);
    expect(error.f16).toBeLessThan(1e-4);
    expect(logits.f16TextureTop1).toBe(node.top1[1]);
    expect(logits.f16BitmapTop1).toBe(node.top1[1]);

    // Block toggles: delete layer1.1, the husky is classified again as the Node engine classifies it without that block
    expect(await pickFile(page, sample(HUSKY))).toBe('done');
    expect(
      await page.$$eval('[data-testid=block-toggle]', (els) => els.map((e) => (e as HTMLElement).dataset.block)),
    ).toEqual(node.blockNames);
    const top1 = async () => (await predictions(page))[0]!.index;
    expect(await top1()).toBe(node.intactHusky);
    expect(await clickAndWait(page, '[data-block="layer1.1"]')).toBe('done');
    expect(await attribute(page, '[data-block="layer1.1"]', 'aria-pressed')).toBe('false');
    expect(await text(page, '#network')).toBe('network without layer1.1');
    expect(await top1()).toBe(node.lesioned);
    console.log(
      `${engine.name} husky: top-1 ${node.intactHusky} intact, ${node.lesioned} without layer1.1 (Node engine: same)`,
    );

    // GPU time per block (with layer1.1 still deleted)
    expect(await clickAndWait(page, '#profile-button')).toBe('done');
    if (info.features.includes('timestamp-query')) {
      const rows = await page.$$eval('[data-testid=profile-row]', (els) =>
        els.map((e) => ({ group: (e as HTMLElement).dataset.group, ms: Number((e as HTMLElement).dataset.ms) })),
      );
      expect(rows.map((r) => r.group)).toEqual(['stem', ...node.blockNames, 'head']);
      expect(rows.find((r) => r.group === 'layer1.1')!.ms).toBe(0);
      for (const r of rows) if (r.group !== 'layer1.1') expect(r.ms, r.group).toBeGreaterThan(0);
      console.log(`${engine.name} profile: ${await text(page, '[data-testid=profile-total]')}`);
    } else {
      expect(await text(page, '#profile-chart')).toMatch(/does not offer the 'timestamp-query' feature/);
      console.log(`${engine.name} profile: this adapter has no timestamp-query; the panel says so`);
    }

    // Similarity of two samples' embeddings (husky and chow, the defaults), with layer1.1 still deleted
    await page.click('#compare .compare');
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('[data-testid=similarity]')?.dataset.value !== undefined,
      { timeout: 600_000 },
    );
    const browserSimilarity = Number(await attribute(page, '[data-testid=similarity]', 'data-value'));
    console.log(
      `${engine.name} husky ~ chow: cosine ${browserSimilarity.toFixed(4)} (Node engine ${node.similarity.toFixed(4)})`,
    );
    expect(Math.abs(browserSimilarity - node.similarity)).toBeLessThan(0.02); // the browser decodes the JPEGs itself
    expect(errors).toEqual([]);
    await mkdir(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-lesion.png`), fullPage: true });

    // all blocks back on: the intact answer again
    expect(await clickAndWait(page, '#blocks .restore')).toBe('done');
    expect(await top1()).toBe(node.intactHusky);
    expect(await text(page, '#network')).toBe('the whole network');
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}.png`), fullPage: true });
    await page.setViewport({ width: 390, height: 844 });
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-phone.png`), fullPage: true });
  });

  it("says plainly, in this browser's terms, that WebGPU is unavailable when it is off", async () => {
    const page = await (await open(engine, false)).newPage();
    await page.goto(server.url);
    const said = await waitForStatus(page, ['ready'], 120_000);
    expect(said).toMatch(/^error: WebGPU is (not available|present but no GPU adapter)/);
    expect(said).toMatch(engine.name === 'firefox' ? /dom\.webgpu\.enabled/ : /enable-unsafe-webgpu/);
    expect(await page.$eval('#file', (e) => (e as HTMLInputElement).disabled)).toBe(true);
    expect(await status(page)).toBe(said);
  });
});

/**
 * The load-time autotune of the tiled kernels' tilings (src/runtime/autotune.ts): a tuned ResNet-18 still
 * matches torchvision's logits (every tiling a candidate may take is checked against the plain conv in
 * test/kernels.test.ts), runs the tilings it reports, answers a second load from its cache (in the
 * process, then from its file), releases every buffer its timing made, is off unless asked, and refuses
 * what it cannot do by name.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { loadResNet } from '../src/node.js';
import { CONV_SHADERS } from '../src/kernels/conv-shaders.js';
import { autotuneBatches, autotuneTilings, type TunedTilings } from '../src/runtime/autotune.js';
import { TUNED_KERNELS, TuningAnswers } from '../src/runtime/tuning-answers.js';
import { isCpuAdapter } from '../src/util/adapter.js';
import { optimize } from '../src/graph/passes.js';
import { planWithinMemory } from '../src/plan/planner.js';
import { compareLogits, goldenInput, goldenModel } from '../scripts/golden-model.js';
import { sharedPath } from './helpers/needs.js';
import { trackingBuffers } from './helpers/gpu.js';

let gpu: Awaited<ReturnType<typeof acquireNodeDevice>>;
const safetensors = writeSafetensors(goldenModel(18).params);
let want: { logits: number[][]; top5: number[][] };

let cache: string;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'webgpu-resnet-autotune-'));
  process.env.WEBGPU_RESNET_CACHE = cache; // the answers' file goes here, not into the user's model cache
  gpu = await acquireNodeDevice();
  want = JSON.parse(await readFile(sharedPath('golden', 'torchvision-resnet-golden.json'), 'utf8')).models.resnet18;
});
afterAll(async () => {
  gpu?.release();
  await rm(cache, { recursive: true, force: true });
});

describe('autotune', () => {
  it('a ResNet-18 tuned at load (tiled kernels, batches 1 and 2) matches torchvision, runs what it chose, and a second load answers from the cache', async () => {
    const { device } = gpu;
    if (!device.features.has('timestamp-query'))
      return void console.log('autotune: this adapter lacks timestamp-query; not run');
    const input = goldenInput();
    const { result: model, leaked } = await trackingBuffers(device, () =>
      loadResNet({ source: { safetensors }, device, convStrategy: 'tiled', autotune: [1, 2] }),
    );
    let logits: Float32Array;
    try {
      const report = model.info.autotune!;
      console.log(
        `autotune, ResNet-18 tiled on this adapter: ${report.shapes} shapes, ${report.timed} timed in ${report.ms.toFixed(0)} ms; changed:\n${report.changed.map((c) => `  batch ${c.batch} ${c.layers.join(', ')}: ${c.from} (${c.fromMs.toFixed(2)} ms) -> ${c.to} (${c.toMs.toFixed(2)} ms)`).join('\n')}`,
      );
      expect(report.batches).toEqual([1, 2]);
      expect(report.shapes).toBeGreaterThan(10);
      expect(report.timed).toBe(report.shapes);
      expect(report.ms).toBeGreaterThan(0);
      // on a CPU adapter the policy (measured on an H200) is known to lose for some shapes
      if (isCpuAdapter(gpu.adapter.info)) expect(report.changed.length).toBeGreaterThan(0);
      for (const c of report.changed) {
        expect(c.to).not.toBe(c.from);
        expect(c.toMs).toBeLessThan(0.95 * c.fromMs);
      }
      logits = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' });
      const check = compareLogits(logits, want);
      console.log(`autotuned ResNet-18 against torchvision: max rel. logit error ${check.error.toExponential(2)}`);
      expect(check.error).toBeLessThanOrEqual(1e-4);
      expect(check.top5).toEqual(want.top5);
      // the plan for batch 1 runs the tiles chosen for it
      const profile = await model.profile(1);
      for (const c of report.changed.filter((c) => c.batch === 1)) {
        const step = profile.find((s) => s.label === c.layers[0])!;
        expect(step.detail, c.layers[0]).toMatch(new RegExp(`tile ${c.to}$`));
      }
    } finally {
      model.dispose();
    }
    expect(leaked()).toEqual([]); // the timing's executors included
    const again = await loadResNet({ source: { safetensors }, device, convStrategy: 'tiled', autotune: [1, 2] });
    try {
      const report = again.info.autotune!;
      expect([report.timed, report.ms]).toEqual([0, 0]);
      expect(report.changed).toEqual(model.info.autotune!.changed);
      expect(await again.infer(input, { batch: 2, layout: 'nchw', output: 'logits' })).toEqual(logits);
    } finally {
      again.dispose();
    }
  });

  /** A model cache folder of its own, holding `text` as autotune.json: the process has no answers for it yet, as a new process would not. */
  async function freshCache(text: string): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'webgpu-resnet-autotune-'));
    await writeFile(join(folder, 'autotune.json'), text, 'utf8');
    process.env.WEBGPU_RESNET_CACHE = folder;
    return folder;
  }

  it('answers outlive the process in the model cache folder (autotune.json, for these kernels); an unreadable file is timed again and rewritten', async () => {
    const { device } = gpu;
    if (!device.features.has('timestamp-query')) return;
    const text = await readFile(join(cache, 'autotune.json'), 'utf8');
    const saved = JSON.parse(text);
    expect(saved.kernels).toBe(TUNED_KERNELS);
    expect(saved.answers.length).toBeGreaterThan(10);
    const folders = [await freshCache(text)];
    try {
      const fromFile = await loadResNet({ source: { safetensors }, device, convStrategy: 'tiled', autotune: [1, 2] });
      expect([fromFile.info.autotune!.timed, fromFile.info.autotune!.ms]).toEqual([0, 0]);
      fromFile.dispose();
      // a file cut short; then entries that are not what this engine writes: no object, an adapter that is
      // no string, a tiling that is not a candidate for its kernel
      const entry = saved.answers[0];
      const damaged = [
        text.slice(0, 20),
        JSON.stringify({
          kernels: saved.kernels,
          answers: [7, null, { ...entry, adapter: 42 }, { ...entry, tiling: { tile: { bm: 1 }, split: 1 } }],
        }),
      ];
      for (const bad of damaged) {
        const folder = await freshCache(bad);
        folders.push(folder);
        const retimed = await loadResNet({ source: { safetensors }, device, convStrategy: 'tiled', autotune: [1] });
        const report = retimed.info.autotune!;
        retimed.dispose();
        expect(report.timed, bad.slice(0, 40)).toBe(report.shapes);
        const rewritten = JSON.parse(await readFile(join(folder, 'autotune.json'), 'utf8'));
        expect(rewritten.answers.length).toBeGreaterThanOrEqual(report.shapes);
        for (const a of rewritten.answers)
          expect(Object.keys(a).sort()).toEqual(['adapter', 'batch', 'from', 'fromMs', 'kernel', 'tiling', 'toMs']);
        expect((await readdir(folder)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      }
    } finally {
      process.env.WEBGPU_RESNET_CACHE = cache;
      for (const folder of folders) await rm(folder, { recursive: true, force: true });
    }
  });

  it('its answers hold for every shader a conv kernel is made from: a change to any of them times again', () => {
    const convFamily = readdirSync('shaders').filter((f) => /^(conv_|winograd|weights_vec4)/.test(f));
    expect(convFamily.length).toBeGreaterThan(10);
    const fingerprinted = new Set(Object.values(CONV_SHADERS));
    for (const file of convFamily)
      expect(fingerprinted.has(readFileSync(join('shaders', file), 'utf8')), file).toBe(true);
  });

  it('a failure while timing destroys every buffer the timing made', async () => {
    const { device } = gpu;
    if (!device.features.has('timestamp-query')) return;
    const { graph } = optimize(goldenModel(18).graph);
    let pinnedPlans = 0;
    const planFor = (tuned: TunedTilings) => (batch: number) => {
      if (Object.keys(tuned.get(batch) ?? {}).length && ++pinnedPlans > 1)
        throw new Error('the second round fails on purpose');
      return planWithinMemory(graph, { convStrategy: 'tiled', batch, conv: tuned.get(batch) });
    };
    const { result, leaked } = await trackingBuffers(device, () =>
      autotuneTilings({
        device,
        graph,
        batches: [1],
        planFor,
        info: gpu.adapter.info,
        answers: new TuningAnswers(),
      }).catch((e: unknown) => e),
    );
    expect(String(result)).toMatch(/the second round fails on purpose/);
    expect(pinnedPlans).toBe(2);
    expect(leaked()).toEqual([]);
  });

  it('off unless asked: true tunes batch 1, a list those batch sizes; refused where nothing can be timed', () => {
    const withTimestamps = { features: new Set(['timestamp-query']) } as unknown as GPUDevice;
    const without = { features: new Set() } as unknown as GPUDevice;
    const tiled = { convStrategy: 'tiled' as const };
    expect(autotuneBatches(undefined, tiled, withTimestamps)).toBeUndefined();
    expect(autotuneBatches(false, tiled, withTimestamps)).toBeUndefined();
    expect(autotuneBatches(true, tiled, withTimestamps)).toEqual([1]);
    expect(autotuneBatches([8, 1, 8], tiled, withTimestamps)).toEqual([8, 1]);
    expect(autotuneBatches(true, { convStrategy: 'simd' }, withTimestamps)).toMatch(
      /nothing to time here: the simd kernels have no tiles/,
    );
    expect(autotuneBatches(true, tiled, without)).toMatch(/lacks 'timestamp-query'/);
  });

  it('off by default; refused by name where it has nothing to time or is given nonsense', async () => {
    const { device } = gpu;
    const plain = await loadResNet({ source: { safetensors }, device });
    try {
      expect(plain.info.autotune).toBeUndefined();
    } finally {
      plain.dispose();
    }
    if (plain.info.convStrategy === 'simd') {
      await expect(loadResNet({ source: { safetensors }, device, autotune: true })).rejects.toThrow(
        /autotune: nothing to time here: the simd kernels have no tiles/,
      );
    }
    for (const bad of [[0], [], [1.5], 'yes'] as unknown[]) {
      const err = await loadResNet({ source: { safetensors }, device, autotune: bad as boolean }).catch(
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(bad)).toBeInstanceOf(InputError);
      expect(String(err)).toMatch(/autotune must be true, false or a list of batch sizes/);
    }
    // the engine is still usable after the refusals
    const after = await loadResNet({ source: { safetensors }, device, autotune: false });
    expect(after.info.autotune).toBeUndefined();
    after.dispose();
  });
});

/**
 * Tiling-policy sweep for the tiled conv kernels (GPUs): ResNet-50 (Keras topology, synthetic weights)
 * planned with each policy, end-to-end median per batch size, and the largest output difference from the
 * default policy's (every policy must compute the same network). Measures what chooseTiling's defaults
 * (src/kernels/conv.ts) should be; not part of the engine.
 *   node dist/tune.js [--weights model.json] [--batch 1,8,32] [--runs 15] [--policies default,no split-K] [--json]
 */
import { readFile } from 'node:fs/promises';
import { optimize } from '../src/graph/passes.js';
import { loadFromMemory } from '../src/loaders/formats.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { defaultModelPath } from '../src/node/paths.js';
import { DEFAULT_POLICY, TILES, type ConvTile, type TilingPolicy } from '../src/kernels/conv-tiling.js';
import prefetchGemm from './kernels/conv_gemm_prefetch.wgsl';
import { INTACT } from '../src/plan/plan-cache.js';
import { planWithinMemory } from '../src/plan/planner.js';
import { describeAdapter } from '../src/runtime/device.js';
import { Executor } from '../src/runtime/executor.js';
import { randomWeights } from './random-weights.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const batches = (arg('--batch') ?? '1,8,32').split(',').map(Number);
const runs = Number(arg('--runs') ?? 15);
const json = args.includes('--json');

const tiles = (t: Partial<Record<keyof typeof TILES, ConvTile>>) => ({ ...TILES, ...t });
/** Name, tiling policy, and the tiled main loop where it is not shaders/conv_gemm.wgsl (an experiment in bench/kernels/). */
const POLICIES: Array<[string, TilingPolicy, string?]> = [
  ['default', DEFAULT_POLICY],
  ['no split-K', { ...DEFAULT_POLICY, target: 0 }],
  ['target 256, minSteps 8', { ...DEFAULT_POLICY, target: 256, minSteps: 8 }],
  ['target 1024', { ...DEFAULT_POLICY, target: 1024 }],
  ['minSteps 2', { ...DEFAULT_POLICY, minSteps: 2 }],
  ['large tiles from 128', { ...DEFAULT_POLICY, largeMin: 128 }],
  ['large tiles never', { ...DEFAULT_POLICY, largeMin: Infinity }],
  [
    'large 128x128 bk16',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 128, bn4: 32, bk: 16, wgM: 16, wgN: 16 } }) },
  ],
  [
    'large 128x64 (8x4 per invocation)',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 128, bn4: 16, bk: 16, wgM: 16, wgN: 16 } }) },
  ],
  [
    'large 64x128 (4x8 per invocation)',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 64, bn4: 32, bk: 16, wgM: 16, wgN: 16 } }) },
  ],
  [
    'large 128x128, 8x16 invocations (16x4)',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 128, bn4: 32, bk: 8, wgM: 8, wgN: 16 } }) },
  ],
  ['prefetch (all tiles)', DEFAULT_POLICY, prefetchGemm],
  [
    'prefetch, large 128x128 bk16',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 128, bn4: 32, bk: 16, wgM: 16, wgN: 16 } }) },
    prefetchGemm,
  ],
  [
    'prefetch, large 128x64',
    { ...DEFAULT_POLICY, tiles: tiles({ large: { bm: 128, bn4: 16, bk: 16, wgM: 16, wgN: 16 } }) },
    prefetchGemm,
  ],
  [
    'medium 64x64, 8x8 invocations (8x8)',
    { ...DEFAULT_POLICY, tiles: tiles({ medium: { bm: 64, bn4: 16, bk: 16, wgM: 8, wgN: 8 } }) },
  ],
  ['medium 64x64 bk32', { ...DEFAULT_POLICY, tiles: tiles({ medium: { bm: 64, bn4: 16, bk: 32, wgM: 16, wgN: 16 } }) }],
  [
    'medium 32x64 (4x4, 8x16 invocations)',
    { ...DEFAULT_POLICY, tiles: tiles({ medium: { bm: 32, bn4: 16, bk: 16, wgM: 8, wgN: 16 } }) },
  ],
];

const only = arg('--policies')?.split(',');
if (only) POLICIES.splice(0, POLICIES.length, ...POLICIES.filter(([name]) => only.includes(name)));
const { graph } = optimize(
  (await loadFromMemory(randomWeights(JSON.parse(await readFile(arg('--weights') ?? defaultModelPath(), 'utf8')))))
    .graph,
);
const gpu = await acquireNodeDevice();
const adapter = describeAdapter(gpu.adapter);
const inputFor = (batch: number) =>
  Float32Array.from({ length: batch * 224 * 224 * 3 }, (_, i) => ((i * 7919) % 255) - 120);
const reference = new Map<number, Float32Array>();
const rows: Array<{
  policy: string;
  batch: number;
  medianMs: number;
  minMs: number;
  maxRelDiff: number;
  dispatches: number;
}> = [];
for (const [name, policy, gemmShader] of POLICIES) {
  const exec = await Executor.create(gpu.device, (batch) =>
    planWithinMemory(
      graph,
      { convStrategy: 'tiled', batch, policy, gemmShader },
      gpu.device.limits.minStorageBufferOffsetAlignment,
    ),
  );
  for (const batch of batches) {
    const input = inputFor(batch);
    const out = await exec.run(input, batch);
    if (!reference.has(batch)) reference.set(batch, out);
    const ref = reference.get(batch)!;
    let diff = 0,
      scale = 0;
    for (let i = 0; i < out.length; i++) {
      diff = Math.max(diff, Math.abs(out[i]! - ref[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    for (let i = 0; i < 3; i++) await exec.run(input, batch);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await exec.run(input, batch);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    rows.push({
      policy: name,
      batch,
      medianMs: times[Math.floor(times.length / 2)]!,
      minMs: times[0]!,
      maxRelDiff: diff / scale,
      dispatches: exec.plans.get(batch, INTACT).plan.steps.length,
    });
    if (!json)
      console.error(
        `${name}, batch ${batch}: ${rows.at(-1)!.medianMs.toFixed(3)} ms (${rows.at(-1)!.dispatches} dispatches, max rel. diff ${rows.at(-1)!.maxRelDiff.toExponential(1)})`,
      );
  }
  exec.dispose();
}
const report = {
  adapter,
  date: new Date().toISOString(),
  runs,
  policies: Object.fromEntries(
    POLICIES.map(([name, policy, gemmShader]) => [
      name,
      { ...policy, ...(gemmShader ? { mainLoop: 'bench/kernels/conv_gemm_prefetch.wgsl' } : {}) },
    ]),
  ),
  rows,
};
if (json) console.log(JSON.stringify(report, (_, v) => (v === Infinity ? 'Infinity' : v)));
else {
  console.log(
    `adapter: ${adapter}\n| policy | ${batches.map((b) => `batch ${b} ms`).join(' | ')} |\n| --- | ${batches.map(() => '---').join(' | ')} |`,
  );
  for (const [name] of POLICIES)
    console.log(
      `| ${name} | ${batches.map((b) => rows.find((r) => r.policy === name && r.batch === b)!.medianMs.toFixed(3)).join(' | ')} |`,
    );
}
gpu.release();
process.exit(0);

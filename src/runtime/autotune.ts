/**
 * Tile choice measured, not guessed: at load, the tiled conv kernels of each distinct GEMM shape are
 * timed on this device with a few tilings (src/ops/conv-tiling.ts tilingCandidates: the policy's choice
 * first) and the fastest kept where it beats the policy's by more than MIN_GAIN. Every conv of one shape
 * takes the same candidate in a round: one plan per round, profiled PROFILES times (per-dispatch GPU
 * timestamps) on executors that share the model's weights and pipelines. Tilings never change the
 * weights (nor the choice between Winograd and the direct conv), so the model plans with the answers and
 * uploads nothing again. Answers are kept per adapter and shape (src/runtime/tuning-answers.ts).
 */
import type { Conv2dNode, Graph } from '../graph/ir.js';
import { describeTiling, tilingCandidates, type Tiling } from '../ops/conv-tiling.js';
import { winogradTileCount } from '../ops/winograd.js';
import type { ConvLowering, ConvOverride } from '../plan/conv-algorithm.js';
import { INTACT, type Planner } from '../plan/plan-cache.js';
import type { Plan } from '../plan/planner.js';
import type { WeightStorage } from '../ops/weight-storage.js';
import { random } from '../util/random.js';
import { isCpuAdapter } from './device.js';
import type { KeptConstants } from './constants.js';
import { Executor, type ProfileStep } from './executor.js';
import {
  adapterIdentity,
  adapterKey,
  answerFor,
  readStore,
  recordAnswer,
  writeStore,
  type TuningStore,
} from './tuning-answers.js';

/** Tilings pinned per batch size and conv node: what the planner takes as `conv` overrides. */
export type TunedTilings = Map<number, Record<string, ConvOverride>>;

/** A candidate must beat the policy's tiling by this fraction to replace it (timestamps jitter). */
const MIN_GAIN = 0.05;
/** Timed profiles per round (after one untimed warm-up in the first); each step's fastest counts. */
const PROFILES = 2;

/** What the autotune did (ModelInfo.autotune). */
export interface AutotuneReport {
  /** Batch sizes tuned (others plan with the built-in policy). */
  batches: number[];
  /** Distinct GEMM shapes of the tiled convs, and how many were timed now (the rest answered from this adapter's cache). */
  shapes: number;
  timed: number;
  /** Wall time of the timing (ms; 0 when every answer came from the cache). */
  ms: number;
  /** The shapes whose tiling differs from the policy's: their layers, both tilings as planned, and each one's GPU time summed over the layers. */
  changed: Array<{ batch: number; layers: string[]; from: string; to: string; fromMs: number; toMs: number }>;
  /** Why the policy's tilings are used without timing (timestamps too coarse, a failure while timing). */
  skipped?: string;
}

/**
 * The batch sizes to tune, or undefined: as asked (true: batch 1; a reason to refuse where nothing can be
 * timed), else batch 1 where timestamps are exact (`precise`: Node, which turns Dawn's rounding off),
 * the adapter is a GPU that names itself and the tiled kernels run.
 */
export function autotuneBatches(
  asked: boolean | readonly number[] | undefined,
  lowering: Pick<ConvLowering, 'convStrategy'>,
  device: { features: { has(feature: string): boolean } },
  info: Partial<GPUAdapterInfo> | undefined,
  precise: boolean,
): number[] | string | undefined {
  if (asked === false) return undefined;
  const why =
    lowering.convStrategy !== 'tiled'
      ? "the simd kernels have no tiles (convStrategy: 'tiled' runs the tiled ones)"
      : !device.features.has('timestamp-query')
        ? "the device lacks 'timestamp-query'"
        : undefined;
  if (asked === undefined) return why || !precise || isCpuAdapter(info) || !adapterIdentity(info) ? undefined : [1];
  if (why) return `autotune: nothing to time here: ${why}`;
  return asked === true ? [1] : [...new Set(asked)];
}

/** One GEMM shape of a plan: its key, its convs, the tilings to time (the policy's first). */
interface GemmShape {
  key: string;
  layers: string[];
  candidates: Tiling[];
}

/** The distinct GEMM shapes of `plan`'s tiled convs (the main GEMM step of each; Winograd's by their slices). */
function gemmShapes(graph: Graph, plan: Plan, batch: number, adapter: string, storage: WeightStorage): GemmShape[] {
  const byKey = new Map<string, GemmShape>();
  for (const step of plan.steps) {
    const { algorithm } = step;
    if (algorithm?.strategy !== 'tiled' || step.label !== step.layer) continue;
    const node = graph.nodes.find((n) => n.name === step.layer) as Conv2dNode;
    const [inShape, outShape] = [graph.shapes.get(node.inputs[0]!)!, graph.shapes.get(node.output)!];
    const tile = algorithm.winograd;
    const [m, k] = tile
      ? [batch * winogradTileCount(outShape, tile), inShape[2]]
      : [batch * outShape[0] * outShape[1], node.kernel[0] * node.kernel[1] * inShape[2]];
    const key = JSON.stringify([
      adapter,
      batch,
      inShape,
      outShape,
      node.kernel,
      node.strides,
      node.pads,
      algorithm.gather,
      tile ?? 0,
      storage,
    ]);
    const known = byKey.get(key);
    if (known) known.layers.push(node.name);
    else byKey.set(key, { key, layers: [node.name], candidates: tilingCandidates(m, outShape[2], k, !!tile) });
  }
  return [...byKey.values()];
}

/** Seeded values in [-1, 1), the same every time. */
function randomInput(size: number): Float32Array {
  const next = random(12345);
  return Float32Array.from({ length: size }, () => 2 * next() - 1);
}

export interface Autotuned {
  tuned: TunedTilings;
  report: AutotuneReport;
  /** The executor that uploaded the weights while timing (and filled `kept`), for the model's to share; the caller disposes it. */
  sharedExecutor?: Executor;
}

/** What the autotune times: a network, planned by `planFor(tuned)` with tuned tilings, on a device. */
export interface AutotuneJob {
  device: GPUDevice;
  graph: Graph;
  batches: number[];
  planFor: (tuned: TunedTilings) => Planner;
  /** The adapter's info (it names the answers) and how the plans store weights (its kernels differ). */
  info: Partial<GPUAdapterInfo> | undefined;
  storage: WeightStorage;
  /** Filled with the packed weights for recovery (recover: true). */
  kept?: KeptConstants;
  store?: TuningStore;
}

/** Times the tilings of the job's tiled convs for each of its batch sizes (the device needs 'timestamp-query'). */
export async function autotuneTilings({
  device,
  graph,
  batches,
  planFor,
  info,
  storage,
  kept,
  store,
}: AutotuneJob): Promise<Autotuned> {
  const started = performance.now();
  const adapter = adapterKey(device, info);
  if (store) await readStore(store);
  const policy = planFor(new Map());
  const shapes = new Map(batches.map((b) => [b, gemmShapes(graph, policy(b, INTACT), b, adapter, storage)]));
  const untimed = [...shapes.values()].flat().filter((s) => !answerFor(s.key, s.candidates));
  const timing = untimed.length ? await timeRounds(device, graph, shapes, untimed, planFor, kept) : undefined;
  try {
    if (timing && !timing.skipped && store) await writeStore(store);
    const tuned: TunedTilings = new Map();
    const changed: AutotuneReport['changed'] = [];
    for (const [batch, list] of shapes) {
      const pinned: Record<string, ConvOverride> = {};
      for (const s of list) {
        const a = answerFor(s.key, s.candidates);
        if (!a) continue; // skipped: the policy's
        for (const layer of s.layers) pinned[layer] = { tiling: a.tiling };
        if (a.tiling !== a.from)
          changed.push({
            batch,
            layers: s.layers,
            from: describeTiling(a.from),
            to: describeTiling(a.tiling),
            fromMs: a.fromMs,
            toMs: a.toMs,
          });
      }
      tuned.set(batch, pinned);
    }
    const count = [...shapes.values()].flat().length;
    const report: AutotuneReport = {
      batches,
      shapes: count,
      timed: timing?.skipped ? 0 : untimed.length,
      ms: timing ? performance.now() - started : 0,
      changed: asPlanned(changed, planFor(tuned)),
      ...(timing?.skipped && { skipped: timing.skipped }),
    };
    return { tuned, sharedExecutor: timing?.executor, report };
  } catch (err) {
    timing?.executor.dispose();
    throw err;
  }
}

/**
 * Each change with its `to` as the model's plan runs it: the arena rule may halve a split where several
 * tuned splits meet, back to the policy's at times (then it is no change).
 */
function asPlanned(changed: AutotuneReport['changed'], planner: Planner): AutotuneReport['changed'] {
  const plans = new Map<number, Plan>();
  return changed.flatMap((c) => {
    if (!plans.has(c.batch)) plans.set(c.batch, planner(c.batch, INTACT));
    const step = plans.get(c.batch)!.steps.find((s) => s.label === c.layers[0]);
    const to = step?.algorithm?.strategy === 'tiled' ? describeTiling(step.algorithm.tiling) : c.to;
    return to === c.from ? [] : [{ ...c, to }];
  });
}

/** Whether every duration is a multiple of 0.1 ms: timestamps rounded (Chrome's default), useless for tiles. */
const rounded = (steps: ProfileStep[]) =>
  steps.length >= 4 && steps.every((s) => Math.abs(s.ms * 1e4 - Math.round(s.ms * 1e4)) < 1e-3);

/**
 * The rounds: round r gives each untimed shape its r-th candidate, profiles each batch that has one, and
 * records each shape's time; the answers when done. Returns the first round's executor (it holds the
 * weights), or with `skipped` and no answers recorded where the timestamps are rounded.
 */
async function timeRounds(
  device: GPUDevice,
  graph: Graph,
  shapes: Map<number, GemmShape[]>,
  untimed: GemmShape[],
  planFor: (tuned: TunedTilings) => Planner,
  kept?: KeptConstants,
): Promise<{ executor: Executor; skipped?: string }> {
  const rounds = Math.max(...untimed.map((s) => s.candidates.length));
  const times = new Map(untimed.map((s) => [s.key, s.candidates.map(() => Infinity)]));
  const inputs = new Map(
    [...shapes.keys()].map((b) => [b, randomInput(b * graph.shapes.get(graph.input)!.reduce((x, y) => x * y, 1))]),
  );
  const candidate = (s: GemmShape, r: number) => (times.has(s.key) ? s.candidates[r] : undefined);
  let first: Executor | undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      const tuned: TunedTilings = new Map(
        [...shapes].map(([b, list]) => [
          b,
          Object.fromEntries(
            list.flatMap((s) => s.layers.flatMap((l) => (candidate(s, r) ? [[l, { tiling: candidate(s, r)! }]] : []))),
          ),
        ]),
      );
      const executor = await Executor.create(device, planFor(tuned), r === 0 ? kept : undefined, first);
      if (r === 0) first = executor;
      try {
        for (const [batch, list] of shapes) {
          if (!list.some((s) => candidate(s, r))) continue;
          if (r === 0) await executor.profile(inputs.get(batch)!, batch); // warm-up
          const profiles: ProfileStep[][] = [];
          for (let p = 0; p < PROFILES; p++) profiles.push(await executor.profile(inputs.get(batch)!, batch));
          if (rounded(profiles[0]!))
            return {
              executor: first!,
              skipped:
                'the GPU timestamps are rounded to 0.1 ms (Chrome does so unless its WebGPU developer features are on): the built-in tilings are used',
            };
          const layerMs = new Map<string, number>(); // each step's fastest, summed per layer; a negative duration spoils its layer
          profiles[0]!.forEach((step, i) => {
            const ms = Math.min(...profiles.map((p) => p[i]!.ms));
            layerMs.set(step.layer, (layerMs.get(step.layer) ?? 0) + (ms >= 0 ? ms : Infinity));
          });
          for (const s of list)
            if (candidate(s, r))
              times.get(s.key)![r] = s.layers.reduce((sum, l) => sum + (layerMs.get(l) ?? Infinity), 0);
        }
      } finally {
        if (r === 0)
          executor.releaseArenas(); // later rounds make their own
        else executor.dispose();
      }
    }
  } catch (err) {
    first?.dispose();
    throw err;
  }
  for (const s of untimed) {
    const t = times.get(s.key)!;
    const best = t.indexOf(Math.min(...t));
    const pick = t[best]! < (1 - MIN_GAIN) * t[0]! ? best : 0;
    recordAnswer(s.key, { tiling: s.candidates[pick]!, from: s.candidates[0]!, fromMs: t[0]!, toMs: t[pick]! });
  }
  return { executor: first! };
}

export { forgetTuning, type TuningStore } from './tuning-answers.js';

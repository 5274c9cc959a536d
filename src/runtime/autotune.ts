/**
 * Tile choice measured, not guessed (when asked: LoadOptions.autotune; off by default until a run on a
 * GPU shows it pays): at load, the tiled conv kernels of each distinct GEMM kernel (Kernel.gemm) are timed
 * on this device with a few tilings (src/kernels/conv-tiling.ts tilingCandidates: the policy's choice
 * first) and the fastest kept where it beats the policy's by more than MIN_GAIN. Every conv of one kernel
 * takes the same candidate in a round: one plan per round, profiled PROFILES times (per-dispatch GPU
 * timestamps) on executors that share the model's weights and pipelines. Tilings never change the weights
 * (nor the choice between Winograd and the direct conv), so the model plans with the answers and uploads
 * nothing again. Answers are kept per adapter and kernel (src/runtime/tuning-answers.ts).
 */
import type { Graph } from '../graph/graph.js';
import { describeTiling, type Tiling, tilingCandidates } from '../kernels/conv-tiling.js';
import type { ConvLowering, ConvOverride } from '../operators/conv-algorithm.js';
import { INTACT, type Planner } from '../plan/plan-cache.js';
import type { Plan } from '../plan/planner.js';
import type { KeptConstants } from './constants.js';
import { Executor, type ProfileStep } from './executor.js';
import { random } from '../util/random.js';
import type { TuningAnswers, TuningKey } from './tuning-answers.js';

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
  /** Distinct GEMM kernels of the tiled convs, and how many were timed now (the rest answered from this adapter's
   * answers). */
  shapes: number;
  timed: number;
  /** Wall time of the timing (ms; 0 when every answer was known). */
  ms: number;
  /** The kernels whose tiling differs from the policy's: their layers, both tilings as planned, and each one's GPU
   * time summed over the layers. */
  changed: Array<{ batch: number; layers: string[]; from: string; to: string; fromMs: number; toMs: number }>;
  /** Why the policy's tilings are used without timing (timestamps too coarse). */
  skipped?: string;
}

/**
 * The batch sizes to tune: none unless asked (true: batch 1, or the batch sizes listed); asked for where
 * nothing can be timed, the reason (the model refuses the load with it).
 */
export function autotuneBatches(
  asked: boolean | readonly number[] | undefined,
  lowering: Pick<ConvLowering, 'convStrategy'>,
  device: { features: { has(feature: string): boolean } },
): number[] | string | undefined {
  if (asked === undefined || asked === false) return undefined;
  if (lowering.convStrategy !== 'tiled') {
    return "autotune: nothing to time here: the simd kernels have no tiles (convStrategy: 'tiled' runs the tiled ones)";
  }
  if (!device.features.has('timestamp-query'))
    return "autotune: nothing to time here: the device lacks 'timestamp-query'";
  return asked === true ? [1] : [...new Set(asked)];
}

/** One GEMM kernel of a plan: its key, its convs, the tilings to time (the policy's first). */
interface GemmShape {
  key: TuningKey;
  layers: string[];
  candidates: Tiling[];
}

/** The distinct GEMM kernels of `plan`'s tiled convs (Winograd's by their slices, which never split). */
function gemmShapes(plan: Plan, batch: number, adapter: string): GemmShape[] {
  const byKey = new Map<string, GemmShape>();
  for (const { gemm, algorithm, layer } of plan.steps) {
    if (!gemm || algorithm?.strategy !== 'tiled') continue;
    const known = byKey.get(gemm.key);
    if (known) known.layers.push(layer!);
    else {
      const candidates = tilingCandidates(batch * gemm.m, gemm.n, gemm.k, !!algorithm.winograd);
      byKey.set(gemm.key, { key: { adapter, batch, kernel: gemm.key }, layers: [layer!], candidates });
    }
  }
  return [...byKey.values()];
}

export interface Autotuned {
  tuned: TunedTilings;
  report: AutotuneReport;
  /** The executor that uploaded the weights while timing (and filled `kept`), for the model's to share; the caller
   * disposes it. */
  sharedExecutor?: Executor;
}

/** What the autotune times: a network, planned by `planFor(tuned)` with tuned tilings, on a device. */
export interface AutotuneJob {
  device: GPUDevice;
  graph: Graph;
  batches: number[];
  planFor: (tuned: TunedTilings) => Planner;
  /** The adapter's info (it names the answers). */
  info: Partial<GPUAdapterInfo> | undefined;
  /** The answers known, and where this job's are recorded. */
  answers: TuningAnswers;
  /** Filled with the packed weights for recovery (recover: true). */
  kept?: KeptConstants;
}

/** Times the tilings of the job's tiled convs for each of its batch sizes (the device needs 'timestamp-query'). */
export async function autotuneTilings(job: AutotuneJob): Promise<Autotuned> {
  const { device, batches, planFor, info, answers } = job;
  const started = performance.now();
  const adapter = answers.adapterKey(device, info);
  await answers.read();
  const alignment = device.limits.minStorageBufferOffsetAlignment;
  const policy = planFor(new Map());
  const shapes = new Map(batches.map((b) => [b, gemmShapes(policy(b, INTACT, alignment), b, adapter)]));
  const untimed = [...shapes.values()].flat().filter((s) => !answers.answerFor(s.key, s.candidates));
  const timing = untimed.length ? await timeRounds(job, shapes, untimed) : undefined;
  try {
    if (timing && !timing.skipped) await answers.write();
    const { tuned, changed } = tunedTilings(shapes, answers);
    const report: AutotuneReport = {
      batches,
      shapes: [...shapes.values()].flat().length,
      timed: timing?.skipped ? 0 : untimed.length,
      ms: timing ? performance.now() - started : 0,
      changed: asPlanned(changed, planFor(tuned), alignment),
      ...(timing?.skipped && { skipped: timing.skipped }),
    };
    return { tuned, sharedExecutor: timing?.executor, report };
  } catch (err) {
    timing?.executor.dispose();
    throw err;
  }
}

/** The answers as pinned tilings per batch and conv, and the kernels they change. */
function tunedTilings(shapes: Map<number, GemmShape[]>, answers: TuningAnswers) {
  const tuned: TunedTilings = new Map();
  const changed: AutotuneReport['changed'] = [];
  for (const [batch, list] of shapes) {
    const pinned: Record<string, ConvOverride> = {};
    for (const s of list) {
      const a = answers.answerFor(s.key, s.candidates);
      if (!a) continue; // skipped: the policy's
      for (const layer of s.layers) pinned[layer] = { tiling: a.tiling };
      if (a.tiling === a.from) continue;
      const { fromMs, toMs } = a;
      changed.push({
        batch,
        layers: s.layers,
        from: describeTiling(a.from),
        to: describeTiling(a.tiling),
        fromMs,
        toMs,
      });
    }
    tuned.set(batch, pinned);
  }
  return { tuned, changed };
}

/**
 * Each change with its `to` as the model's plan runs it: the arena rule may halve a split where several
 * tuned splits meet, back to the policy's at times (then it is no change).
 */
function asPlanned(changed: AutotuneReport['changed'], planner: Planner, alignment: number): AutotuneReport['changed'] {
  const plans = new Map<number, Plan>();
  return changed.flatMap((c) => {
    if (!plans.has(c.batch)) plans.set(c.batch, planner(c.batch, INTACT, alignment));
    const step = plans.get(c.batch)!.steps.find((s) => s.gemm && s.layer === c.layers[0]);
    const to = step?.algorithm?.strategy === 'tiled' ? describeTiling(step.algorithm.tiling) : c.to;
    return to === c.from ? [] : [{ ...c, to }];
  });
}

/** Whether every duration is a multiple of 0.1 ms: timestamps rounded (Chrome's default), useless for tiles. */
const rounded = (steps: ProfileStep[]) =>
  steps.length >= 4 && steps.every((s) => Math.abs(s.ms * 1e4 - Math.round(s.ms * 1e4)) < 1e-3);

/** Seeded values in [-1, 1), the same every time. */
function randomInput(size: number): Float32Array {
  const next = random(12345);
  return Float32Array.from({ length: size }, () => 2 * next() - 1);
}

/** One round's timings: each step's fastest over the profiles, summed per layer (a negative duration spoils its
 * layer). */
async function timeRound(
  executor: Executor,
  input: Float32Array,
  batch: number,
  warmUp: boolean,
): Promise<Map<string, number> | 'rounded'> {
  if (warmUp) await executor.profile(input, batch);
  const profiles: ProfileStep[][] = [];
  for (let p = 0; p < PROFILES; p++) profiles.push(await executor.profile(input, batch));
  if (rounded(profiles[0]!)) return 'rounded';
  const layerMs = new Map<string, number>();
  profiles[0]!.forEach((step, i) => {
    const ms = Math.min(...profiles.map((p) => p[i]!.ms));
    layerMs.set(step.layer, (layerMs.get(step.layer) ?? 0) + (ms >= 0 ? ms : Infinity));
  });
  return layerMs;
}

const ROUNDED =
  'the GPU timestamps are rounded to 0.1 ms (Chrome does so unless its WebGPU developer features are on): the ' +
  'built-in tilings are used';

/**
 * The rounds: round r gives each untimed kernel its r-th candidate, profiles each batch that has one, and
 * records each kernel's time; the answers when done. Returns the first round's executor (it holds the
 * weights), or with `skipped` and no answers recorded where the timestamps are rounded.
 */
async function timeRounds(
  job: AutotuneJob,
  shapes: Map<number, GemmShape[]>,
  untimed: GemmShape[],
): Promise<{ executor: Executor; skipped?: string }> {
  const { device, graph, planFor, kept, answers } = job;
  const rounds = Math.max(...untimed.map((s) => s.candidates.length));
  const times = new Map(untimed.map((s) => [s, s.candidates.map(() => Infinity)]));
  const size = graph.shapes.get(graph.input)!.reduce((x, y) => x * y, 1);
  const inputs = new Map([...shapes.keys()].map((b) => [b, randomInput(b * size)]));
  const candidate = (s: GemmShape, r: number) => (times.has(s) ? s.candidates[r] : undefined);
  const pins = (r: number): TunedTilings =>
    new Map(
      [...shapes].map(([b, list]) => [
        b,
        Object.fromEntries(
          list.flatMap((s) => s.layers.flatMap((l) => (candidate(s, r) ? [[l, { tiling: candidate(s, r)! }]] : []))),
        ),
      ]),
    );
  let first: Executor | undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      const executor = await Executor.create(device, planFor(pins(r)), r === 0 ? kept : undefined, first);
      first ??= executor;
      try {
        for (const [batch, list] of shapes) {
          if (!list.some((s) => candidate(s, r))) continue;
          const layerMs = await timeRound(executor, inputs.get(batch)!, batch, r === 0);
          if (layerMs === 'rounded') return { executor: first, skipped: ROUNDED };
          for (const s of list)
            if (candidate(s, r)) times.get(s)![r] = s.layers.reduce((sum, l) => sum + (layerMs.get(l) ?? Infinity), 0);
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
  for (const [s, t] of times) {
    const best = t.indexOf(Math.min(...t));
    const pick = t[best]! < (1 - MIN_GAIN) * t[0]! ? best : 0;
    answers.record(s.key, { tiling: s.candidates[pick]!, from: s.candidates[0]!, fromMs: t[0]!, toMs: t[pick]! });
  }
  return { executor: first! };
}

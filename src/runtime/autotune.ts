/**
 * Tile choice measured, not guessed: at load, the tiled conv kernels of each distinct GEMM shape are
 * timed on this device with a few tilings (src/ops/conv-tiling.ts tilingCandidates: the policy's choice
 * first) and the fastest kept where it beats the policy's by more than NOISE. Every conv of one shape
 * takes the same candidate in a round: one plan per round, each a whole-network profile (per-dispatch
 * GPU timestamps) on executors that share the model's weights. Tilings never change the weights (nor the
 * choice between Winograd and the direct conv), so the model plans with the answers and uploads nothing
 * again. Answers are cached per adapter and shape for this process (a model loaded again, or another on
 * the same adapter, skips the timing) and, through the platform's TuningStore, beyond it.
 */
import type { Conv2dNode, Graph } from '../graph/ir.js';
import gemm from '../../shaders/conv_gemm.wgsl';
import { describeTiling, TILES, tilingCandidates, type Tiling } from '../ops/conv-tiling.js';
import { hashText } from '../ops/shader.js';
import { winogradTileCount } from '../ops/winograd.js';
import { INTACT, type Planner } from '../plan/plan-cache.js';
import type { ConvOverride } from '../plan/conv-algorithm.js';
import type { Plan } from '../plan/planner.js';
import type { KeptConstants } from './constants.js';
import { Executor, type ProfileStep } from './executor.js';

/** Tilings pinned per batch size and conv node: what the planner takes as `conv` overrides. */
export type TunedTilings = Map<number, Record<string, ConvOverride>>;

/** A candidate must beat the policy's tiling by this fraction to replace it (timestamps jitter). */
const NOISE = 0.05;
/** Profiles per round; each step's fastest counts. */
const PROFILES = 2;

/** What the autotune did (ModelInfo.autotune). */
export interface AutotuneReport {
  /** Batch sizes tuned (others plan with the policy's tilings). */
  batches: number[];
  /** Distinct GEMM shapes of the tiled convs, and how many were timed now (the rest from this adapter's cache). */
  shapes: number;
  timed: number;
  /** Wall time of the timing (ms; 0 when every answer came from the cache). */
  ms: number;
  /** The shapes whose tiling differs from the policy's: their layers, both tilings, and each one's GPU time summed over the layers. */
  changed: Array<{ batch: number; layers: string[]; from: string; to: string; fromMs: number; toMs: number }>;
}

interface Answer { tiling: Tiling; from: Tiling; fromMs: number; toMs: number }

/** Answers by adapter, batch and shape, for this process. */
const answers = new Map<string, Answer>();

/**
 * Where answers outlive the process (Node: a file in the model cache, written whole or not at all;
 * browsers: localStorage where the page has it). Optional: without one they last the process.
 */
export interface TuningStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** The kernels answers were timed with: answers for another main loop are not reused. */
const KERNELS = `conv_gemm ${hashText(gemm)}`;
let stores = new WeakSet<TuningStore>();

/** A tiling read back from a store: one of TILES, a split of 1 to 1024; else undefined. */
function storedTiling(t: unknown): Tiling | undefined {
  const { tile, split } = (t ?? {}) as Partial<Tiling>;
  const known = tile && Object.values(TILES).find((k) => JSON.stringify(k) === JSON.stringify(tile));
  return known && Number.isInteger(split) && split! >= 1 && split! <= 1024 ? { tile: known, split: split! } : undefined;
}

/** Adds `store`'s answers (once per store; anything unreadable or for other kernels is skipped: timed again). */
async function readStore(store: TuningStore): Promise<void> {
  if (stores.has(store)) return;
  stores.add(store);
  let saved: { kernels?: unknown; answers?: Record<string, { tiling?: unknown; from?: unknown; fromMs?: unknown; toMs?: unknown }> };
  try {
    saved = JSON.parse((await store.read()) ?? '{}');
  } catch {
    return;
  }
  if (saved?.kernels !== KERNELS || typeof saved.answers !== 'object' || !saved.answers) return;
  for (const [key, a] of Object.entries(saved.answers)) {
    const [tiling, from] = [storedTiling(a?.tiling), storedTiling(a?.from)];
    if (!tiling || !from || typeof a.fromMs !== 'number' || typeof a.toMs !== 'number' || answers.has(key)) continue;
    answers.set(key, { tiling: JSON.stringify(tiling) === JSON.stringify(from) ? from : tiling, from, fromMs: a.fromMs, toMs: a.toMs });
  }
}

/** Writes every answer known to `store`; a store that cannot be written is left as it is (the answers last the process). */
async function writeStore(store: TuningStore): Promise<void> {
  const named = [...answers].filter(([key]) => !(JSON.parse(key) as string[])[0]!.startsWith(UNNAMED));
  await store.write(JSON.stringify({ kernels: KERNELS, answers: Object.fromEntries(named) })).catch(() => undefined);
}

/** Forgets the answers of this process and which stores were read (tests; after a driver update). */
export function forgetTuning(): void {
  answers.clear();
  stores = new WeakSet();
}

/** Devices whose adapter says nothing of itself: answers kept per device, for the process only. */
const UNNAMED = 'unnamed device ';
const unnamed = new WeakMap<GPUDevice, string>();
let devices = 0;

/** The adapter's info strings as one name, or undefined where it says nothing of itself (Firefox). */
export function adapterIdentity(info: Partial<GPUAdapterInfo> | undefined): string | undefined {
  const named = info && [info.vendor, info.architecture, info.device, info.description].join('/');
  return named && named !== '///' ? named : undefined;
}

/** What names `device`'s adapter in the cache: its info strings, or this device alone. */
function adapterKey(device: GPUDevice, info: Partial<GPUAdapterInfo> | undefined): string {
  const named = adapterIdentity(info);
  if (named) return named;
  if (!unnamed.has(device)) unnamed.set(device, `${UNNAMED}${++devices}`);
  return unnamed.get(device)!;
}

/** One GEMM shape of a plan: its key, its convs, the tilings to time. */
interface Shape { key: string; layers: string[]; candidates: Tiling[] }

/** The distinct GEMM shapes of `plan`'s tiled convs (the main GEMM step of each; Winograd's sliced ones by their slices). */
function gemmShapes(graph: Graph, plan: Plan, batch: number, adapter: string): Shape[] {
  const byKey = new Map<string, Shape>();
  for (const step of plan.steps) {
    const { algorithm } = step;
    if (algorithm?.strategy !== 'tiled' || step.label !== step.layer) continue;
    const node = graph.nodes.find((n) => n.name === step.layer) as Conv2dNode;
    const [inShape, outShape] = [graph.shapes.get(node.inputs[0]!)!, graph.shapes.get(node.output)!];
    const w = algorithm.winograd;
    const [m, k] = w ? [batch * winogradTileCount(outShape, w), inShape[2]] : [batch * outShape[0] * outShape[1], node.kernel[0] * node.kernel[1] * inShape[2]];
    const key = JSON.stringify([adapter, batch, inShape, outShape, node.kernel, node.strides, node.pads, algorithm.gather, w ?? 0, step.detail?.match(/(f16|int8) weights/)?.[1] ?? 'f32']);
    const known = byKey.get(key);
    if (known) known.layers.push(node.name);
    else byKey.set(key, { key, layers: [node.name], candidates: tilingCandidates(m, outShape[2], k, !!w) });
  }
  return [...byKey.values()];
}

/** Pseudo-random input values in [-1, 1) for `batch` images of `shape`. */
function noise(size: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: size }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 31) - 1);
}

export interface Autotuned {
  tuned: TunedTilings;
  report: AutotuneReport;
  /** The executor that uploaded the weights while timing (with `kept` filled), for the model's executor to share; undefined when nothing was timed. The caller disposes it. */
  weights?: Executor;
}

/**
 * Times the tilings of `graph`'s tiled convs for each of `batches` on `device` (needs 'timestamp-query').
 * `planFor(tuned)` plans the network with tuned tilings; `info` (the adapter's) names the cache's entries.
 */
export async function autotuneTilings(device: GPUDevice, graph: Graph, batches: number[], planFor: (tuned: TunedTilings) => Planner, info: Partial<GPUAdapterInfo> | undefined, kept?: KeptConstants, store?: TuningStore): Promise<Autotuned> {
  const started = performance.now();
  const adapter = adapterKey(device, info);
  if (store) await readStore(store);
  const base = planFor(new Map());
  const shapes = new Map(batches.map((b) => [b, gemmShapes(graph, base(b, INTACT), b, adapter)]));
  const untimed = [...shapes.values()].flat().filter((s) => !answers.has(s.key));
  let weights: Executor | undefined;
  if (untimed.length) {
    weights = await timeRounds(device, graph, shapes, untimed, planFor, kept);
    if (store) await writeStore(store);
  }
  const tuned: TunedTilings = new Map();
  const changed: AutotuneReport['changed'] = [];
  for (const [batch, list] of shapes) {
    const pinned: Record<string, ConvOverride> = {};
    for (const s of list) {
      const a = answers.get(s.key)!;
      for (const layer of s.layers) pinned[layer] = { tiling: a.tiling };
      if (a.tiling !== a.from) changed.push({ batch, layers: s.layers, from: describeTiling(a.from), to: describeTiling(a.tiling), fromMs: a.fromMs, toMs: a.toMs });
    }
    tuned.set(batch, pinned);
  }
  const count = [...shapes.values()].flat().length;
  return { tuned, weights, report: { batches, shapes: count, timed: untimed.length, ms: untimed.length ? performance.now() - started : 0, changed } };
}

/** The rounds: round r gives each untimed shape its r-th candidate, profiles the network and records every shape's time. */
async function timeRounds(device: GPUDevice, graph: Graph, shapes: Map<number, Shape[]>, untimed: Shape[], planFor: (tuned: TunedTilings) => Planner, kept?: KeptConstants): Promise<Executor> {
  const rounds = Math.max(...untimed.map((s) => s.candidates.length));
  const times = new Map(untimed.map((s) => [s.key, s.candidates.map(() => Infinity)]));
  const [h, w, c] = graph.shapes.get(graph.input)!;
  let first: Executor | undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      const tuned: TunedTilings = new Map([...shapes].map(([b, list]) => [b, Object.fromEntries(list.flatMap((s) => (times.has(s.key) && s.candidates[r] ? s.layers.map((l) => [l, { tiling: s.candidates[r]! }]) : [])))]));
      const executor = await Executor.create(device, planFor(tuned), r === 0 ? kept : undefined, first);
      try {
        for (const [batch, list] of shapes) {
          const profiles: ProfileStep[][] = [];
          for (let p = 0; p < PROFILES; p++) profiles.push(await executor.profile(noise(batch * h * w * c), batch));
          const layerMs = new Map<string, number>(); // each step's fastest, summed per layer
          profiles[0]!.forEach((step, i) => layerMs.set(step.layer, (layerMs.get(step.layer) ?? 0) + Math.min(...profiles.map((p) => p[i]!.ms))));
          for (const s of list) if (times.has(s.key) && s.candidates[r]) times.get(s.key)![r] = s.layers.reduce((sum, l) => sum + (layerMs.get(l) ?? 0), 0);
        }
      } finally {
        if (r === 0) first = executor;
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
    const pick = t[best]! < (1 - NOISE) * t[0]! ? best : 0;
    answers.set(s.key, { tiling: s.candidates[pick]!, from: s.candidates[0]!, fromMs: t[0]!, toMs: t[pick]! });
  }
  return first!;
}

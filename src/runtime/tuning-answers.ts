/**
 * The autotune's answers (src/runtime/autotune.ts): the tiling kept for each GEMM shape on each adapter,
 * for this process, and beyond it through a TuningStore (Node: a file in the model cache; a page:
 * localStorage). A stored answer is untrusted input: it is used only where it is one of the candidates the
 * engine would time today, for the same kernels and policy; anything else is timed again.
 */
import gemm from '../../shaders/conv_gemm.wgsl';
import { DEFAULT_POLICY, MAX_CANDIDATES, TILES, type Tiling } from '../ops/conv-tiling.js';
import { hashText } from '../ops/shader.js';

export interface Answer {
  /** The tiling kept, and the policy's: the same object where the policy's was kept. */
  tiling: Tiling;
  from: Tiling;
  /** GPU time of the policy's tiling and of the kept one, summed over the shape's layers. */
  fromMs: number;
  toMs: number;
}

/** Where answers outlive the process. Optional: without one they last the process. */
export interface TuningStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** Answers by key (adapter, batch, shape), for this process. */
const answers = new Map<string, Answer>();

/** What answers were timed with: the tiled main loop, the tiles, the policy and the candidate rule's cap. */
const KERNELS = `conv_gemm ${hashText(gemm + JSON.stringify([TILES, DEFAULT_POLICY, MAX_CANDIDATES]))}`;

/** Adapters that do not name themselves: answers per device, for the process only. */
const UNNAMED = 'unnamed device ';
const unnamed = new WeakMap<GPUDevice, string>();
let devices = 0;

/** The adapter's info strings as one name, or undefined where it says nothing of itself (Firefox). */
export function adapterIdentity(info: Partial<GPUAdapterInfo> | undefined): string | undefined {
  const named = info && [info.vendor, info.architecture, info.device, info.description].join('/');
  return named && named !== '///' ? named : undefined;
}

/** What names `device`'s adapter in answer keys: its info strings, or this device alone. */
export function adapterKey(device: GPUDevice, info: Partial<GPUAdapterInfo> | undefined): string {
  const named = adapterIdentity(info);
  if (named) return named;
  if (!unnamed.has(device)) unnamed.set(device, `${UNNAMED}${++devices}`);
  return unnamed.get(device)!;
}

const same = (a: Tiling, b: Tiling) => JSON.stringify(a) === JSON.stringify(b);

/** The answer for `key` if it fits today's `candidates` (the policy's first), with their objects; else undefined. */
export function answerFor(key: string, candidates: readonly Tiling[]): Answer | undefined {
  const a = answers.get(key);
  const tiling = a && candidates.find((c) => same(c, a.tiling));
  if (!a || !tiling || !same(a.from, candidates[0]!)) return undefined;
  return { ...a, tiling, from: candidates[0]! };
}

export function recordAnswer(key: string, answer: Answer): void {
  answers.set(key, answer);
}

/** A key this process could have written to a store: a JSON array led by a named adapter. */
function storable(key: string): boolean {
  try {
    const parsed: unknown = JSON.parse(key);
    return Array.isArray(parsed) && typeof parsed[0] === 'string' && !parsed[0].startsWith(UNNAMED);
  } catch {
    return false;
  }
}

const finiteMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isTiling = (t: unknown): t is Tiling => {
  const { tile, split } = (t ?? {}) as Partial<Tiling>;
  return (
    !!tile &&
    Object.values(TILES).some((k) => JSON.stringify(k) === JSON.stringify(tile)) &&
    Number.isInteger(split) &&
    split! >= 1 &&
    split! <= 1024
  );
};

/** Adds `store`'s answers that this process lacks; a store that does not read, or entries that do not, are skipped. */
export async function readStore(store: TuningStore): Promise<void> {
  let saved: { kernels?: unknown; answers?: unknown };
  try {
    saved = JSON.parse((await store.read()) ?? '{}') ?? {};
  } catch {
    return;
  }
  if (saved.kernels !== KERNELS || typeof saved.answers !== 'object' || !saved.answers || Array.isArray(saved.answers))
    return;
  for (const [key, a] of Object.entries(saved.answers as Record<string, Partial<Answer> | null>)) {
    if (
      answers.has(key) ||
      !storable(key) ||
      !a ||
      !isTiling(a.tiling) ||
      !isTiling(a.from) ||
      !finiteMs(a.fromMs) ||
      !finiteMs(a.toMs)
    )
      continue;
    answers.set(key, { tiling: a.tiling, from: a.from, fromMs: a.fromMs, toMs: a.toMs });
  }
}

/** Writes every storable answer, merged with what the store holds now (another process may have added some); never throws. */
export async function writeStore(store: TuningStore): Promise<void> {
  try {
    await readStore(store);
    const named = [...answers].filter(([key]) => storable(key));
    await store.write(JSON.stringify({ kernels: KERNELS, answers: Object.fromEntries(named) }));
  } catch {
    // an optimization only: the answers last the process
  }
}

/** Forgets this process's answers (as a new process starts; tests). */
export function forgetTuning(): void {
  answers.clear();
}

/**
 * The autotune's answers (src/runtime/autotune.ts): the tiling kept for each GEMM kernel on each adapter,
 * held by a TuningAnswers instance (an entry keeps one for its process) and, through a TuningStore, beyond
 * it (Node: a file in the model cache; a page: localStorage). A stored answer is untrusted input: it is
 * used only where it is one of the candidates the engine would time today, for the same kernels and policy
 * (the fingerprint of every conv shader, the tiles, the policy and the candidate cap); anything else is
 * timed again.
 */
import { CONV_SHADERS_FINGERPRINT } from '../kernels/conv-shaders.js';
import { DEFAULT_POLICY, MAX_CANDIDATES, TILES, type Tiling } from '../kernels/conv-tiling.js';
import { hashText } from '../kernels/shader.js';

/** What an answer is for: an adapter, a batch size, a GEMM kernel (its code inputs but the tiling: Kernel.gemm.key). */
export interface TuningKey {
  adapter: string;
  batch: number;
  kernel: string;
}

export interface Answer {
  /** The tiling kept, and the policy's: the same object where the policy's was kept. */
  tiling: Tiling;
  from: Tiling;
  /** GPU time of the policy's tiling and of the kept one, summed over the shape's layers. */
  fromMs: number;
  toMs: number;
}

/** Where answers outlive the process. Optional: without one they last as long as their TuningAnswers. */
export interface TuningStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

const TUNING_RULES = [TILES, DEFAULT_POLICY, MAX_CANDIDATES];

/** What answers were timed with: every conv shader, the tiles, the policy and the candidate rule's cap. */
export const TUNED_KERNELS = `conv ${hashText(CONV_SHADERS_FINGERPRINT + JSON.stringify(TUNING_RULES))}`;

/** An entry of a store: the key's parts and the answer. */
interface Stored extends TuningKey, Answer {}

/** Adapters that do not name themselves: answers per device, never stored. */
const UNNAMED = 'unnamed device ';
const unnamed = new WeakMap<GPUDevice, string>();
let unnamedDevices = 0;

/** The adapter's info strings as one name, or undefined where it says nothing of itself (Firefox). */
function adapterIdentity(info: Partial<GPUAdapterInfo> | undefined): string | undefined {
  const named = info && [info.vendor, info.architecture, info.device, info.description].join('/');
  return named && named !== '///' ? named : undefined;
}

const same = (a: Tiling, b: Tiling) => JSON.stringify(a) === JSON.stringify(b);
const finiteMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isTiling = (t: unknown): t is Tiling => {
  const { tile, split } = (t ?? {}) as Partial<Tiling>;
  const known = !!tile && Object.values(TILES).some((k) => JSON.stringify(k) === JSON.stringify(tile));
  return known && Number.isInteger(split) && split! >= 1 && split! <= 1024;
};
const isStored = (e: unknown): e is Stored => {
  const s = (e ?? {}) as Partial<Stored>;
  const key = typeof s.adapter === 'string' && Number.isInteger(s.batch) && typeof s.kernel === 'string';
  return key && isTiling(s.tiling) && isTiling(s.from) && finiteMs(s.fromMs) && finiteMs(s.toMs);
};

export class TuningAnswers {
  private readonly answers = new Map<string, Stored>();

  constructor(private readonly store?: TuningStore) {}

  private static text(key: TuningKey): string {
    return JSON.stringify([key.adapter, key.batch, key.kernel]);
  }

  /** What names `device`'s adapter in keys: its info strings, or this device alone. */
  adapterKey(device: GPUDevice, info: Partial<GPUAdapterInfo> | undefined): string {
    const named = adapterIdentity(info);
    if (named) return named;
    if (!unnamed.has(device)) unnamed.set(device, `${UNNAMED}${++unnamedDevices}`);
    return unnamed.get(device)!;
  }

  /** The answer for `key` if it fits today's `candidates` (the policy's first), with their objects; else undefined. */
  answerFor(key: TuningKey, candidates: readonly Tiling[]): Answer | undefined {
    const a = this.answers.get(TuningAnswers.text(key));
    const tiling = a && candidates.find((c) => same(c, a.tiling));
    if (!a || !tiling || !same(a.from, candidates[0]!)) return undefined;
    return { tiling, from: candidates[0]!, fromMs: a.fromMs, toMs: a.toMs };
  }

  record(key: TuningKey, answer: Answer): void {
    this.answers.set(TuningAnswers.text(key), { ...key, ...answer });
  }

  /** Adds the store's answers this instance lacks; a store that does not read, or entries that do not, are skipped. */
  async read(): Promise<void> {
    let saved: { kernels?: unknown; answers?: unknown };
    try {
      saved = JSON.parse((await this.store?.read()) ?? '{}') ?? {};
    } catch {
      return;
    }
    if (saved.kernels !== TUNED_KERNELS || !Array.isArray(saved.answers)) return;
    for (const entry of saved.answers) {
      const foreign = !isStored(entry) || entry.adapter.startsWith(UNNAMED);
      if (foreign || this.answers.has(TuningAnswers.text(entry))) continue;
      const { adapter, batch, kernel, tiling, from, fromMs, toMs } = entry;
      this.answers.set(TuningAnswers.text(entry), { adapter, batch, kernel, tiling, from, fromMs, toMs });
    }
  }

  /** Writes every answer of a named adapter, merged with what the store holds now (another process may have added
   * some); never throws. */
  async write(): Promise<void> {
    if (!this.store) return;
    try {
      await this.read();
      const answers = [...this.answers.values()].filter((a) => !a.adapter.startsWith(UNNAMED));
      await this.store.write(JSON.stringify({ kernels: TUNED_KERNELS, answers }));
    } catch {
      // an optimization only: the answers last as long as this instance
    }
  }
}

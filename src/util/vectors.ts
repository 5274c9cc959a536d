/** Numeric helpers on plain vectors: finiteness, similarity, top-k. */
import { InputError } from '../errors.js';

/**
 * Index of the first NaN or ±Infinity in `a`, or -1. x * 0 is NaN exactly for those, so four running sums
 * of x * 0 (independent, so the CPU overlaps them) stay 0 for finite data; only then is the index looked for.
 */
export function firstNonFinite(a: Float32Array): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  const n4 = a.length - (a.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += a[i]! * 0;
    s1 += a[i + 1]! * 0;
    s2 += a[i + 2]! * 0;
    s3 += a[i + 3]! * 0;
  }
  for (let i = n4; i < a.length; i++) s0 += a[i]! * 0;
  return s0 + s1 + s2 + s3 === 0 ? -1 : a.findIndex((v) => !Number.isFinite(v));
}

/** Cosine similarity of two vectors of the same length (e.g. two embeddings): 1 same direction, 0 orthogonal. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InputError(`cannot compare vectors of ${a.length} and ${b.length} values`);
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** `v` scaled to unit length (L2), in place; a zero vector stays zero. */
export function normalizeL2(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Indices of the `k` largest values, largest first. */
export function topIndices(values: Float32Array, k: number): number[] {
  return [...values.keys()].sort((a, b) => values[b]! - values[a]!).slice(0, k);
}

/** The arrays one after another in one new array of the first one's type (e.g. a batch's rows). */
export function concatArrays<T extends Float32Array | Uint32Array>(parts: readonly T[]): T {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new (parts[0]!.constructor as new (n: number) => T)(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

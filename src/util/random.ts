/** Seeded randomness: the same seed gives the same training splits and minibatch orders, test tensors and bench
 * weights. */

/** mulberry32: a small, fast 32-bit generator; numbers in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates shuffle of `items` (a copy), from `seed` and `round` (an epoch: each its own order). */
export function shuffled(items: Uint32Array, seed: number, round = 0): Uint32Array {
  const next = random((seed ^ Math.imul(round + 1, 0x9e3779b1)) >>> 0);
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

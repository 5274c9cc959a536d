/** IEEE 754 half precision (binary16) <-> float, for f16 weight files and f16 weight storage on the GPU. */

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The nearest half (ties to even), as its 16 bits; overflow gives ±Infinity, tiny values subnormals or ±0. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000; // implicit 1
    const shift = 14 - e; // 24-bit mantissa -> subnormal 10-bit field
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // rounding may carry into the exponent, which is still the right answer (up to Infinity)
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** x rounded to the nearest half, as a float. */
export const roundToHalf = (x: number): number => halfToFloat(floatToHalf(x));

/** Two halves in one u32 as WGSL's unpack2x16float reads them: `lo` in bits 0-15, `hi` in bits 16-31. */
export const packHalves = (lo: number, hi: number): number => (floatToHalf(lo) | (floatToHalf(hi) << 16)) >>> 0;

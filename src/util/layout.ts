/**
 * Axis orders of dense row-major tensors, in one place: PyTorch and ONNX write convolution weights OIHW
 * and activations NCHW; the engine packs HWIO weights and runs NHWC. `permute` does every conversion.
 */

/** Axis orders for `permute`: out axis k is in axis perm[k]. */
export const OIHW_TO_HWIO = [2, 3, 1, 0] as const;
export const HWIO_TO_OIHW = [3, 2, 0, 1] as const;
const NCHW_TO_NHWC = [0, 2, 3, 1] as const;
export const TRANSPOSE = [1, 0] as const;

/**
 * `data` of shape `dims` (row-major) with its axes reordered: output axis k is input axis perm[k], so
 * the output's shape is perm.map((p) => dims[p]). Up to 4 axes.
 */
export function permute<T extends Float32Array | Int8Array>(
  data: T,
  dims: readonly number[],
  perm: readonly number[],
): T {
  const rank = dims.length;
  if (rank > 4 || perm.length !== rank || [...perm].sort().some((p, i) => p !== i))
    throw new Error(`bad permutation [${perm}] of [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`permute: ${data.length} values for shape [${dims}]`);
  const inStride = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  // Output extents and the input stride of each output axis, padded in front to 4 axes.
  const pad = 4 - rank;
  const n = [...Array<number>(pad).fill(1), ...perm.map((p) => dims[p]!)];
  const s = [...Array<number>(pad).fill(0), ...perm.map((p) => inStride[p]!)];
  const out = (data instanceof Int8Array ? new Int8Array(count) : new Float32Array(count)) as T;
  let o = 0;
  for (let a = 0; a < n[0]!; a++)
    for (let b = 0; b < n[1]!; b++)
      for (let c = 0; c < n[2]!; c++) {
        const base = a * s[0]! + b * s[1]! + c * s[2]!;
        for (let d = 0; d < n[3]!; d++) out[o++] = data[base + d * s[3]!]!;
      }
  return out;
}

/** NCHW activations (PyTorch's order) -> NHWC (the engine's). */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  return permute(x, [n, c, h, w], NCHW_TO_NHWC);
}

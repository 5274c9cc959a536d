/**
 * The words the graph IR is written in, below the operators: a tensor's shape (NHWC activations of one
 * image: `[height, width, channels]`; a vector is [1, 1, C]; the batch is a run-time dimension), padding,
 * int8 weights, the shape arithmetic of windows, and the float64 tensors the operators' references compute.
 */

export type Shape = [height: number, width: number, channels: number];

/** Padding in pixels: [top, left, bottom, right]. */
export type Pads = [number, number, number, number];

/**
 * int8 weights as a file stored them, in the node's weight layout: w ≈ values[i] * scales[i % cols] (one
 * scale per output channel). A node keeps its float weights too (values * scales), for every other use.
 */
export interface QuantizedWeights {
  values: Int8Array;
  scales: Float32Array;
}

export const shapeSize = (s: Shape): number => s[0] * s[1] * s[2];

/** Output size of a window of `kernel` at `stride` over `inSize` padded by `padBefore` and `padAfter`. */
export function outSize(inSize: number, kernel: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((inSize + padBefore + padAfter - kernel) / stride) + 1;
}

/**
 * A pool's output size along one axis, `ceil` as PyTorch's ceil_mode: the count rounds up, but a last window
 * must start inside the input or its leading padding.
 */
export function poolOutSize(
  inSize: number,
  kernel: number,
  stride: number,
  before: number,
  after: number,
  ceil: boolean,
) {
  const span = inSize + before + after - kernel;
  let out = Math.floor((span + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= inSize + before) out--;
  return out;
}

/** Keras/TensorFlow 'same' padding for one axis: [before, after]. */
export function samePadding(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A batch of NHWC tensors in float64: what the operators' references read and write. */
export interface RefTensor {
  data: Float64Array;
  batch: number;
  shape: Shape;
}

/** The value at image `n`, pixel (y, x), channel `c` of a reference tensor. */
export const refAt = (t: RefTensor, n: number, y: number, x: number, c: number): number =>
  t.data[((n * t.shape[0] + y) * t.shape[1] + x) * t.shape[2] + c]!;

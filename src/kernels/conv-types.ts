/**
 * The conv kernels' vocabulary: what they read of a conv node (ConvSpec: src/operators/conv2d.ts's node is
 * one), how a conv is computed (ConvAlgorithm: decided in src/operators/conv-algorithm.ts), and the GEMM a
 * conv is (convGemm: the one place its sizes are computed).
 */
import type { Pads, QuantizedWeights, Shape } from '../ir/tensor.js';
import type { Tiling } from './conv-tiling.js';
import type { WeightStorage } from './weight-storage.js';
import { winogradTileCount, type WinogradTile } from './winograd.js';

/** A conv as its kernels read it: tensors, window, epilogue and weights (HWIO, BatchNorm folded in). */
export interface ConvSpec {
  name: string;
  input: string;
  /** A tensor of the output's shape added before the ReLU (a residual block's shortcut). */
  residual?: string;
  output: string;
  kernel: [number, number];
  strides: [number, number];
  pads: Pads;
  relu: boolean;
  /** Channel groups (ResNeXt's cardinality): output channel o reads input channels of group o / (COUT / groups)
   * only, and the weights are [kh][kw][CIN / groups][COUT]. Absent: 1. */
  groups?: number;
  /** BatchNorm (+ ReLU) applied to the input as it is read (a pre-activation ResNet's norm1, fused by
   * src/graph/passes.ts): zero padding after it. */
  preact?: Preactivation;
  weights: Float32Array;
  bias: Float32Array;
  /** Set when the weights were loaded as int8 (then `weights` holds their float values). */
  quantized?: QuantizedWeights;
}

/**
 * Per input channel c: x * scale[c] + shift[c] (a BatchNorm folded), then a ReLU where `relu`; input channels a
 * multiple of 4.
 */
export interface Preactivation {
  relu: boolean;
  scale: Float32Array;
  shift: Float32Array;
}

/** The fields of a ConvSpec that name input tensors, in order. */
export const CONV_INPUTS = ['input', 'residual'] as const;

/**
 * How the GEMM is run: `tiled` stages tiles in workgroup memory (GPUs); `simd` gives each invocation a
 * few output pixels and shares weights across a subgroup by register shuffles (CPU adapters, whose
 * invocations are SIMD lanes; needs the `subgroups` feature and a fixed subgroup size).
 */
export type ConvStrategy = 'tiled' | 'simd';
export const CONV_STRATEGIES: readonly ConvStrategy[] = ['tiled', 'simd'];

/**
 * How a row of A is read: `pointwise` for a 1x1 unpadded conv (the input pixels themselves), `window` for
 * any KxK window (vec4 loads when CIN is a multiple of 4), `rows` for a KxK window over few channels,
 * read as contiguous rows of KW x CIN values (the stem over RGB).
 */
export type ConvGather = 'pointwise' | 'window' | 'rows';

/**
 * The decision for one conv, all its kernels are built from. A grouped conv (groups > 1) runs the grouped
 * loop (src/kernels/conv-loops.ts) under either strategy: with the simd strategy's subgroups, sharing weights.
 */
export type ConvAlgorithm = { gather: ConvGather; winograd?: WinogradTile } & (
  | { strategy: 'tiled'; tiling: Tiling }
  | { strategy: 'simd'; subgroupSize: number }
  | { strategy: 'grouped'; subgroupSize?: number }
);

/** How a conv's kernels are built beyond its algorithm: the weights' storage, and (experiments) another main loop. */
export interface ConvBuildOptions {
  /**
   * How the weights are stored (src/kernels/weight-storage.ts): 'f32' (default), 'f16' (half the memory and
   * weight reads, ~1e-3 relative rounding) or 'int8' (a quarter; per output channel scales). Sums are f32.
   */
  weightStorage?: WeightStorage;
  /** Tiled: the main loop's WGSL instead of shaders/conv_gemm.wgsl (experiments in bench/kernels/, same defines). */
  gemmShader?: string;
}

/**
 * The GEMM C[M, N] = A[M, K] * B[K, N] a conv computes for one image: M output pixels, N output channels,
 * K = KH * KW * CIN / groups (each output channel's sum); with Winograd, M tiles and K = CIN in each of its slices.
 */
export function convGemm(
  spec: Pick<ConvSpec, 'kernel' | 'groups'>,
  inShape: Shape,
  outShape: Shape,
  winograd?: WinogradTile,
): { m: number; n: number; k: number } {
  const [kh, kw] = spec.kernel;
  if (winograd) return { m: winogradTileCount(outShape, winograd), n: outShape[2], k: inShape[2] };
  return { m: outShape[0] * outShape[1], n: outShape[2], k: (kh * kw * inShape[2]) / (spec.groups ?? 1) };
}

/**
 * The kernel tests as data (test/kernels.test.ts runs them): one table per operator, one line per case,
 * each run on the GPU and compared with the operator's float64 reference (src/operators/<op>.ts) within its
 * bound. Odd sizes, sizes that are not multiples of a tile, channels that are not multiples of 4, strides 1
 * and 2, padding, batch > 1. Convs also run in every configuration of CONV_CONFIGS (kernel family, tiling,
 * Winograd, precision).
 */
import type { Pads } from '../src/ir/tensor.js';
import { TILES } from '../src/kernels/conv-tiling.js';
import type { ConvBuildOptions, ConvGather, ConvStrategy } from '../src/kernels/conv-types.js';
import type { ConvOverride } from '../src/operators/conv-algorithm.js';
import prefetchGemm from '../bench/kernels/conv_gemm_prefetch.wgsl';

/**
 * A conv of input [h, w, cin] x batch to cout channels, a k x k kernel at `stride`, `pads`, its gather
 * pinned; `residual`: a second input-independent tensor added (a 1x1 conv of the input, on the GPU too).
 */
export interface ConvCase {
  gather: ConvGather;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pads: Pads;
  batch: number;
  residual: boolean;
  relu: boolean;
  /** Channel groups (ResNeXt); absent: 1. */
  groups?: number;
  /** A pre-activation (BatchNorm + ReLU where `relu`) applied as the input is read: 'relu' or 'affine'. */
  preact?: 'relu' | 'affine';
}

// biome-ignore format: a table, one case a line
export const CONV_CASES: ConvCase[] = [
  // ResNet-like shapes (small spatial sizes to stay quick on a CPU adapter)
  { gather: 'rows', h: 23, w: 19, cin: 3, cout: 64, k: 7, stride: 2, pads: [3, 3, 3, 3], batch: 2, residual: false, relu: true },
  { gather: 'window', h: 14, w: 14, cin: 64, cout: 64, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 1, residual: false, relu: true },
  { gather: 'window', h: 9, w: 11, cin: 32, cout: 36, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { gather: 'pointwise', h: 7, w: 7, cin: 128, cout: 256, k: 1, stride: 1, pads: [0, 0, 0, 0], batch: 3, residual: true, relu: true },
  { gather: 'pointwise', h: 13, w: 11, cin: 64, cout: 128, k: 1, stride: 2, pads: [0, 0, 0, 0], batch: 2, residual: false, relu: false },
  // channels not multiples of 4, odd sizes, asymmetric padding
  { gather: 'pointwise', h: 5, w: 3, cin: 7, cout: 5, k: 1, stride: 1, pads: [0, 0, 0, 0], batch: 2, residual: true, relu: true },
  { gather: 'pointwise', h: 9, w: 7, cin: 6, cout: 10, k: 1, stride: 2, pads: [0, 0, 0, 0], batch: 1, residual: false, relu: true },
  { gather: 'window', h: 8, w: 5, cin: 5, cout: 7, k: 3, stride: 2, pads: [0, 1, 1, 0], batch: 2, residual: false, relu: false },
  { gather: 'window', h: 6, w: 6, cin: 3, cout: 9, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 1, residual: false, relu: true },
  { gather: 'rows', h: 10, w: 12, cin: 1, cout: 6, k: 5, stride: 1, pads: [2, 2, 2, 2], batch: 2, residual: false, relu: false },
  { gather: 'rows', h: 11, w: 9, cin: 5, cout: 12, k: 3, stride: 2, pads: [1, 0, 0, 1], batch: 1, residual: false, relu: true },
  // Winograd's tiles of 2x2 and 4x4: odd sizes (a last row or column of tiles partly outside), one pixel, outputs not a multiple of 4
  { gather: 'window', h: 7, w: 5, cin: 16, cout: 10, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 3, residual: false, relu: false },
  { gather: 'window', h: 2, w: 9, cin: 4, cout: 12, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: true },
  { gather: 'window', h: 1, w: 1, cin: 8, cout: 8, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 1, residual: false, relu: true },
  // grouped (ResNeXt's 3x3): 4 channels per group (vec4 reads), 6 in and 12 out per group, a residual, a 1x1,
  // more pixels than one workgroup takes (64 x 4) and not a multiple of them
  { gather: 'window', h: 9, w: 7, cin: 32, cout: 32, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: false, relu: true, groups: 8 },
  { gather: 'window', h: 11, w: 6, cin: 24, cout: 48, k: 3, stride: 2, pads: [1, 1, 1, 1], batch: 2, residual: false, relu: false, groups: 4 },
  { gather: 'window', h: 5, w: 7, cin: 16, cout: 16, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 3, residual: true, relu: true, groups: 2 },
  { gather: 'pointwise', h: 6, w: 5, cin: 12, cout: 24, k: 1, stride: 1, pads: [0, 0, 0, 0], batch: 1, residual: false, relu: true, groups: 3 },
  { gather: 'window', h: 20, w: 15, cin: 16, cout: 32, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: false, relu: true, groups: 4 },
  // pre-activation (ResNet v2's norm1 read by the next conv): padded windows (Winograd too), strided 1x1s, grouped
  // with vec4 and scalar groups, with no ReLU; its padding must stay 0 after the BatchNorm
  { gather: 'window', h: 9, w: 7, cin: 16, cout: 20, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: true, relu: false, preact: 'relu' },
  { gather: 'window', h: 8, w: 5, cin: 8, cout: 7, k: 3, stride: 2, pads: [0, 1, 1, 0], batch: 2, residual: false, relu: true, preact: 'affine' },
  { gather: 'pointwise', h: 13, w: 11, cin: 64, cout: 128, k: 1, stride: 2, pads: [0, 0, 0, 0], batch: 2, residual: false, relu: false, preact: 'relu' },
  { gather: 'pointwise', h: 7, w: 7, cin: 12, cout: 10, k: 1, stride: 1, pads: [0, 0, 0, 0], batch: 3, residual: true, relu: true, preact: 'affine' },
  { gather: 'window', h: 9, w: 7, cin: 32, cout: 32, k: 3, stride: 1, pads: [1, 1, 1, 1], batch: 2, residual: false, relu: true, groups: 8, preact: 'relu' },
  { gather: 'window', h: 6, w: 6, cin: 12, cout: 24, k: 3, stride: 2, pads: [1, 1, 1, 1], batch: 1, residual: false, relu: false, groups: 2, preact: 'relu' },
];
/** Every conv case's bound: the largest relative error from the reference (with the weights rounded as stored). */
export const CONV_BOUND = 1e-5;
/** f16 weights with Winograd round the transformed filters, not the filters: within this many times the direct f16 conv's error from f32. */
export const F16_WINOGRAD_FACTOR = 3;

/** One conv configuration: a pinned decision (src/operators/conv-algorithm.ts) and how the kernels are built. */
export type ConvConfig = ConvOverride & ConvBuildOptions & { strategy: ConvStrategy };

/**
 * The tiled loop with the tiling the planner chooses and with each tile shape, with and without split-K
 * (splits that do not divide the K steps evenly, and more splits than steps), Winograd forced on the small
 * cases too (both output tiles) and the direct GEMM, the experimental main loop (bench/kernels/: it must
 * compute the same), each weight storage with and without split-K.
 */
// biome-ignore format: a table, one configuration a line
export const TILED_CONFIGS: ConvConfig[] = [
  { strategy: 'tiled' },
  { strategy: 'tiled', winograd: true },
  { strategy: 'tiled', winograd: 4 },
  { strategy: 'tiled', winograd: false },
  { strategy: 'tiled', tiling: { tile: TILES.large, split: 1 } },
  { strategy: 'tiled', tiling: { tile: TILES.large, split: 2 } },
  { strategy: 'tiled', tiling: { tile: TILES.medium, split: 3 } },
  { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 2 } },
  { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 2 } },
  { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 1 }, winograd: 2 },
  { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 1 }, winograd: 4 },
  { strategy: 'tiled', tiling: { tile: TILES.large, split: 1 }, gemmShader: prefetchGemm },
  { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 3 }, gemmShader: prefetchGemm },
  { strategy: 'tiled', weightStorage: 'f16' },
  { strategy: 'tiled', weightStorage: 'f16', winograd: 2 },
  { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 2 }, weightStorage: 'f16' },
  { strategy: 'tiled', weightStorage: 'int8' },
  { strategy: 'tiled', tiling: { tile: TILES.medium, split: 3 }, weightStorage: 'int8' },
];

/** The simd loop (CPU adapters with subgroups of `subgroupSize`), direct and Winograd, in each storage. */
// biome-ignore format: a table, one configuration a line
export const simdConfigs = (subgroupSize: number | undefined): ConvConfig[] => [
  { strategy: 'simd', subgroupSize },
  { strategy: 'simd', subgroupSize, winograd: 2 },
  { strategy: 'simd', subgroupSize, winograd: 4 },
  { strategy: 'simd', subgroupSize, winograd: false },
  { strategy: 'simd', subgroupSize, weightStorage: 'f16' },
  { strategy: 'simd', subgroupSize, weightStorage: 'f16', winograd: 4 },
  { strategy: 'simd', subgroupSize, weightStorage: 'f16', winograd: 2 },
  { strategy: 'simd', subgroupSize, weightStorage: 'int8' },
];

/** Max pool 3x3/2 over [h, w, c] x 2 with zero padding (Keras) or ignored padding (PyTorch): exact. */
// biome-ignore format: a table, one case a line
export const MAXPOOL_CASES: Array<{ h: number; w: number; c: number; padValue: 'zero' | 'ignore'; pads: Pads; ceil?: boolean; bound: number }> = [
  { h: 112, w: 112, c: 64, padValue: 'zero', pads: [1, 1, 1, 1], bound: 0 },
  { h: 15, w: 9, c: 6, padValue: 'ignore', pads: [1, 1, 1, 1], bound: 0 },
  { h: 8, w: 7, c: 5, padValue: 'zero', pads: [0, 0, 1, 1], bound: 0 },
  { h: 9, w: 9, c: 8, padValue: 'ignore', pads: [0, 0, 0, 0], bound: 0 },
  // PyTorch's ceil_mode (timm's legacy SENet stem: 3x3/2, no padding): 112 -> 56, 111 -> 55, 10 -> 5
  { h: 112, w: 111, c: 64, padValue: 'ignore', pads: [0, 0, 0, 0], ceil: true, bound: 0 },
  { h: 10, w: 7, c: 6, padValue: 'ignore', pads: [0, 0, 0, 0], ceil: true, bound: 0 },
  // MaxPool2d(3, 2, padding=1, ceil_mode=True): 13 -> 7, 12 -> 7
  { h: 13, w: 12, c: 5, padValue: 'ignore', pads: [1, 1, 1, 1], ceil: true, bound: 0 },
];

/** Average pool k x k at stride s over [h, w, c] x 2, PyTorch's ceil_mode and count_include_pad (ResNet-D's shortcut first). */
// biome-ignore format: a table, one case a line
export const AVGPOOL_CASES: Array<{ h: number; w: number; c: number; k: number; s: number; pads: Pads; ceil: boolean; count: boolean; bound: number }> = [
  { h: 7, w: 9, c: 5, k: 2, s: 2, pads: [0, 0, 0, 0], ceil: true, count: false, bound: 1e-6 },
  { h: 14, w: 14, c: 8, k: 2, s: 2, pads: [0, 0, 0, 0], ceil: true, count: false, bound: 1e-6 },
  { h: 9, w: 6, c: 6, k: 3, s: 2, pads: [1, 1, 1, 1], ceil: true, count: true, bound: 1e-6 },
  { h: 9, w: 6, c: 6, k: 3, s: 2, pads: [1, 1, 1, 1], ceil: true, count: false, bound: 1e-6 },
  { h: 5, w: 8, c: 4, k: 3, s: 1, pads: [1, 1, 1, 1], ceil: false, count: true, bound: 1e-6 },
  { h: 6, w: 7, c: 3, k: 3, s: 2, pads: [1, 0, 0, 1], ceil: true, count: false, bound: 1e-6 },
];

/** The global average pool over [h, w, c] x 3. */
// biome-ignore format: a table, one case a line
export const GLOBALAVGPOOL_CASES: Array<{ h: number; w: number; c: number; bound: number }> = [
  { h: 7, w: 7, c: 2048, bound: 1e-6 },
  { h: 5, w: 3, c: 7, bound: 1e-6 },
  { h: 1, w: 1, c: 4, bound: 1e-6 },
];

/** Dense in -> units x batch, in each weight storage (the reference with the weights rounded the same way); then softmax. */
// biome-ignore format: a table, one case a line
export const DENSE_CASES: Array<{ inF: number; units: number; batch: number; bound: number }> = [
  { inF: 2048, units: 1000, batch: 2, bound: 1e-5 },
  { inF: 37, units: 11, batch: 3, bound: 1e-5 },
  { inF: 5, units: 4, batch: 1, bound: 1e-5 },
];
export const SOFTMAX_BOUND = 1e-5;

/** A standalone add (+ ReLU) of [h, w, c] x 2: a 1x1 identity conv of the input plus the input. */
// biome-ignore format: a table, one case a line
export const ADD_CASES: Array<{ h: number; w: number; c: number; relu: boolean; bound: number }> = [
  { h: 7, w: 7, c: 256, relu: true, bound: 1e-6 },
  { h: 3, w: 5, c: 3, relu: true, bound: 1e-6 },
  { h: 2, w: 2, c: 5, relu: false, bound: 1e-6 },
];

/**
 * Squeeze-and-excitation gates (src/operators/squeeze-excite.ts) and the gated add that applies them: C
 * channels through RD; channels a multiple of 4 (vec4) and not, RD over and under the gate's workgroup.
 */
// biome-ignore format: a table, one case a line
export const SE_CASES: Array<{ h: number; w: number; c: number; rd: number; relu: boolean; bound: number }> = [
  { h: 7, w: 5, c: 64, rd: 8, relu: true, bound: 1e-5 },
  { h: 3, w: 3, c: 6, rd: 3, relu: false, bound: 1e-5 },
  { h: 9, w: 11, c: 256, rd: 96, relu: true, bound: 1e-5 },
];

/** Standalone BatchNormalization (+ ReLU): a pre-activation ResNet's, with no conv before it; vec4 and scalar channels. */
// biome-ignore format: a table, one case a line
export const BATCHNORM_CASES: Array<{ h: number; w: number; c: number; relu: boolean; bound: number }> = [
  { h: 7, w: 5, c: 64, relu: true, bound: 1e-6 },
  { h: 3, w: 4, c: 6, relu: false, bound: 1e-6 },
  { h: 2, w: 9, c: 12, relu: true, bound: 1e-6 },
];

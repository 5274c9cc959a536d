import conv1x1 from '../../shaders/conv1x1.wgsl';
import conv3x3 from '../../shaders/conv3x3.wgsl';
import conv7x7 from '../../shaders/conv7x7.wgsl';
import simd from '../../shaders/conv_simd.wgsl';
import epilogue from '../../shaders/conv_epilogue.wgsl';
import gemm from '../../shaders/conv_gemm.wgsl';
import splitSum from '../../shaders/conv_splitk.wgsl';
import windowGeometry from '../../shaders/conv_window.wgsl';
import type { Conv2dNode, Shape } from '../graph/ir.js';
import { chooseSimdTile, packSimdWeights, packSimdWeightsF16, simdRow, simdStatements, type SimdTile } from './conv-simd.js';
import { ceilDiv, padColumns, spread, type Kernel, type Resource } from './kernel.js';
import { packHalves } from '../util/half.js';
import { specialize } from './wgsl.js';

/** Which A-gather a conv uses: GEMM over pixels (1x1), a KxK window (3x3), or contiguous window rows (stem, few channels). */
export type ConvVariant = 'conv1x1' | 'conv3x3' | 'conv7x7';

/**
 * How the GEMM is run: `tiled` stages tiles in workgroup memory (GPUs); `simd` gives each invocation a
 * few output pixels and shares weights across a subgroup by register shuffles (CPU adapters, whose
 * invocations are SIMD lanes; needs the `subgroups` feature and a fixed subgroup size).
 */
export type ConvStrategy = 'tiled' | 'simd';

export interface ConvTile {
  /** Output rows (pixels) and vec4 column groups per workgroup, K step, invocations along M and N. */
  bm: number;
  bn4: number;
  bk: number;
  wgM: number;
  wgN: number;
  /** Fetch the next tile into registers while computing this one (conv_gemm.wgsl PREFETCH). */
  prefetch?: boolean;
}

/**
 * Tiles of the tiled main loop. Each invocation holds (bm / wgM) rows x (bn4 / wgN) vec4 columns:
 * `large` 8 x 8 outputs, `medium` 4 x 4, `narrow` 4 x 4 for convs with at most 32 output channels.
 */
export const TILES = {
  large: { bm: 128, bn4: 32, bk: 8, wgM: 16, wgN: 16 },
  medium: { bm: 64, bn4: 16, bk: 16, wgM: 16, wgN: 16 },
  narrow: { bm: 64, bn4: 8, bk: 16, wgM: 16, wgN: 8 },
} as const satisfies Record<string, ConvTile>;

/** A tile and a split-K factor (1: no split). */
export interface Tiling {
  tile: ConvTile;
  split: number;
}

/** Knobs of chooseTiling, for tuning runs (bench/tune.ts); the defaults are what the engine uses. */
export interface TilingPolicy {
  /** Workgroups a dispatch should have to fill a GPU: fewer tiles than this are split along K. */
  target: number;
  /** The tiles to choose from (default TILES). */
  tiles?: { large: ConvTile; medium: ConvTile; narrow: ConvTile };
  /** Smallest number of `large` tiles for which `large` is chosen. */
  largeMin: number;
  /** Fewest BK steps each split keeps. */
  minSteps: number;
}

/** Measured best of the sweep in bench/tune.ts on an H200 (bench/results/). */
export const DEFAULT_POLICY: TilingPolicy = { target: 512, largeMin: 256, minSteps: 4 };

const tilesOf = (t: ConvTile, m: number, nv: number) => ceilDiv(nv, t.bn4) * ceilDiv(m, t.bm);

/**
 * Tile and split for a GEMM of M = batch x output pixels rows, COUT columns and depth K: the 8 x 8 register
 * blocks when there are enough tiles to fill the GPU; else 4 x 4 blocks, and when even those are too few
 * (layer4 at batch 1: M = 49), K is split so that about `target` workgroups run, each over >= minSteps
 * BK steps; a second kernel adds the partial sums.
 */
export function chooseTiling(m: number, cout: number, k: number, policy: TilingPolicy = DEFAULT_POLICY): Tiling {
  const nv = ceilDiv(cout, 4);
  const { large, medium, narrow } = policy.tiles ?? TILES;
  if (nv >= large.bn4 && tilesOf(large, m, nv) >= policy.largeMin) return { tile: large, split: 1 };
  const tile = nv <= narrow.bn4 ? narrow : medium;
  const tiles = tilesOf(tile, m, nv);
  const split = Math.max(1, Math.min(Math.floor(policy.target / tiles), Math.floor(ceilDiv(k, tile.bk) / policy.minSteps)));
  return { tile, split };
}

export function chooseVariant(node: Pick<Conv2dNode, 'kernel' | 'pads'>, cin: number): ConvVariant {
  if (node.kernel[0] === 1 && node.kernel[1] === 1 && node.pads.every((p) => p === 0)) return 'conv1x1';
  return cin % 4 === 0 ? 'conv3x3' : 'conv7x7';
}

/** [rows][cols] as halves, cols zero-padded to a multiple of 4, two halves per u32 (pairs of columns). */
function packHalfColumns(data: Float32Array, rows: number, cols: number): Uint32Array {
  const padded = padColumns(data, rows, cols);
  const out = new Uint32Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = packHalves(padded[2 * i]!, padded[2 * i + 1]!);
  return out;
}

/** conv2d (+ bias, + residual, + ReLU) over NHWC input `inShape`, weights HWIO. */
export interface ConvOptions {
  variant?: ConvVariant;
  strategy?: ConvStrategy;
  /** The batch the kernels are planned for: with `tiled`, it sets M and so the tiling. Default 1. */
  batch?: number;
  /** Tiled: a fixed tile and split-K factor instead of chooseTiling's. */
  tiling?: Tiling;
  policy?: TilingPolicy;
  simd?: SimdTile;
  /** The device's subgroup size, required by the simd strategy. */
  subgroupSize?: number;
  /** Store the weights as halves (f32 accumulation): half the memory and weight reads, ~1e-3 relative rounding. */
  f16Weights?: boolean;
}

/**
 * The kernels of one conv: the main loop with the epilogue, or with split-K, the main loop writing
 * partial sums to a scratch tensor and conv_splitk.wgsl summing them through the epilogue.
 */
export function conv2dKernels(node: Conv2dNode, inShape: Shape, outShape: Shape, options: ConvOptions = {}): Kernel[] {
  const [inH, inW, cin] = inShape;
  const [outH, outW, cout] = outShape;
  const [kh, kw] = node.kernel;
  const variant = options.variant ?? chooseVariant(node, cin);
  const strategy = options.strategy ?? 'tiled';
  const k = kh * kw * cin;
  const nv = ceilDiv(cout, 4);
  const ohw = outH * outW;
  const { tile, split } = options.tiling ?? chooseTiling((options.batch ?? 1) * ohw, cout, k, options.policy);
  const sg = options.subgroupSize ?? 0;
  const st = options.simd ?? chooseSimdTile(ohw, sg || 8);
  if (strategy === 'simd' && !(sg > 0 && (4 * st.c4) % sg === 0 && st.wg % sg === 0)) {
    throw new Error(`${node.name}: the simd strategy needs a subgroup size dividing ${4 * st.c4} and ${st.wg} (got ${sg || 'none'})`);
  }
  const vecA = cin % 4 === 0 && variant !== 'conv7x7';
  const residual = node.inputs.length > 1;
  if (tile.bm % (4 * tile.wgM) || tile.bn4 % tile.wgN || tile.bk % 4 || !(Number.isInteger(split) && split >= 1)) {
    throw new Error(`${node.name}: bad tiling ${JSON.stringify({ tile, split })}`);
  }
  if (variant === 'conv1x1' && (kh !== 1 || kw !== 1 || node.pads.some((p) => p !== 0) || node.strides[0] !== node.strides[1])) {
    throw new Error(`${node.name}: conv1x1 needs a 1x1 kernel, no padding and equal strides`);
  }
  const splitK = strategy === 'tiled' && split > 1;
  const f16 = options.f16Weights ?? false;
  const epilogueFor = (partial: boolean) => specialize('conv_epilogue.wgsl', epilogue, {
    K: k, NV: nv, COUT: cout, OHW: ohw, PARTIAL: partial,
    RESIDUAL: residual, RELU: node.relu, VEC_OUT: cout % 4 === 0, OUT_T: cout % 4 === 0 ? 'vec4<f32>' : 'f32',
  });
  const window = { IN_H: inH, IN_W: inW, OUT_W: outW, STRIDE_H: node.strides[0], STRIDE_W: node.strides[1], PAD_T: node.pads[0], PAD_L: node.pads[1] };
  let front: string;
  if (variant === 'conv1x1') front = specialize('conv1x1.wgsl', conv1x1, { VEC_A: vecA, CIN: cin, IN_W: inW, IN_HW: inH * inW, OUT_W: outW, STRIDE: node.strides[0] });
  else if (variant === 'conv3x3') front = specialize('conv3x3.wgsl', conv3x3, { VEC_A: vecA, CIN: cin, KW: kw }) + specialize('conv_window.wgsl', windowGeometry, window);
  else front = specialize('conv7x7.wgsl', conv7x7, { CIN: cin, ROW: kw * cin }) + specialize('conv_window.wgsl', windowGeometry, window);
  let mainLoop: string;
  let weights: Resource;
  if (strategy === 'tiled') {
    const ks = ceilDiv(ceilDiv(k, tile.bk), split) * tile.bk;
    mainLoop = specialize('conv_gemm.wgsl', gemm, {
      VEC_A: vecA, BM4: tile.bm / 4, BN4: tile.bn4, BK: tile.bk, WG_M: tile.wgM, WG_N: tile.wgN,
      TM4: tile.bm / 4 / tile.wgM, TN4: tile.bn4 / tile.wgN, KS: splitK ? ks : k, PREFETCH: tile.prefetch ?? false, F16: f16,
    });
    weights = f16
      ? { kind: 'constant', name: `${node.name}/weights (f16)`, pack: () => packHalfColumns(node.weights, k, cout) }
      : { kind: 'constant', name: `${node.name}/weights`, pack: () => padColumns(node.weights, k, cout) };
  } else {
    mainLoop = specialize('conv_simd.wgsl', simd, { WG: st.wg, R: st.r, WROW: simdRow(cout, st.c4), SG: sg, C4: st.c4, F16: f16, ...simdStatements(st, sg, vecA, f16) });
    weights = f16
      ? { kind: 'constant', name: `${node.name}/weights (simd, ${st.c4} vec4 columns, f16)`, pack: () => packSimdWeightsF16(node.weights, k, cout, st.c4).data }
      : { kind: 'constant', name: `${node.name}/weights (simd, ${st.c4} vec4 columns)`, pack: () => packSimdWeights(node.weights, k, cout, st.c4).data };
  }
  const bias: Resource = { kind: 'constant', name: `${node.name}/bias`, pack: () => padColumns(node.bias, 1, cout) };
  const flopsPerImage = 2 * ohw * cout * k;
  const partialId = `${node.name}/partial`;
  const detail = `${inH}x${inW}x${cin} -> ${outH}x${outW}x${cout}, ${kh}x${kw}/${node.strides[0]}${strategy === 'tiled' ? `, tile ${tile.bm}x${4 * tile.bn4}${splitK ? `, split-K ${split}` : ''}` : ', simd'}${f16 ? ', f16 weights' : ''}`;
  // The main loop goes first: conv_simd.wgsl starts with an `enable` directive.
  const main: Kernel = {
    label: node.name,
    detail,
    tiling: strategy === 'tiled' ? { tile, split: splitK ? split : 1 } : undefined,
    code: mainLoop + front + epilogueFor(splitK),
    resources: [[0, { kind: 'params' }], [1, { kind: 'tensor', id: node.inputs[0]! }], [2, weights]],
    workgroups: strategy === 'tiled'
      ? (batch) => [ceilDiv(nv, tile.bn4), ceilDiv(batch * ohw, tile.bm), splitK ? split : 1]
      : (batch) => [ceilDiv(batch * ohw, st.wg * st.r), ceilDiv(nv, st.c4), 1],
    flopsPerImage,
  };
  const epilogueResources: Array<[number, Resource]> = [[3, bias], ...(residual ? [[4, { kind: 'tensor', id: node.inputs[1]! }] as [number, Resource]] : [])];
  if (!splitK) {
    main.resources.push(...epilogueResources, [5, { kind: 'tensor', id: node.output }]);
    return [main];
  }
  main.resources.push([5, { kind: 'tensor', id: partialId }]);
  main.scratch = [{ id: partialId, shape: [split * outH, outW, nv * 4] }];
  const sum: Kernel = {
    label: `${node.name}/sum`,
    detail: `sum of ${split} partial results + epilogue`,
    code: specialize('conv_splitk.wgsl', splitSum, { SPLIT: split }) + epilogueFor(false),
    resources: [[0, { kind: 'params' }], [1, { kind: 'tensor', id: partialId }], ...epilogueResources, [5, { kind: 'tensor', id: node.output }]],
    workgroups: (batch) => spread(ceilDiv(batch * ohw * nv, 64)),
    flopsPerImage: ohw * nv * 4 * split,
  };
  return [main, sum];
}

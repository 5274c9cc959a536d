import conv1x1 from '../../shaders/conv1x1.wgsl';
import conv3x3 from '../../shaders/conv3x3.wgsl';
import conv7x7 from '../../shaders/conv7x7.wgsl';
import simd from '../../shaders/conv_simd.wgsl';
import epilogue from '../../shaders/conv_epilogue.wgsl';
import gemm from '../../shaders/conv_gemm.wgsl';
import windowGeometry from '../../shaders/conv_window.wgsl';
import type { Conv2dNode, Shape } from '../graph/ir.js';
import { chooseSimdTile, packSimdWeights, simdStatements, type SimdTile } from './conv-simd.js';
import { ceilDiv, padColumns, type Kernel, type Resource } from './kernel.js';
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
  /** Output rows (pixels) and vec4 column groups per workgroup, K step, threads along M and N. */
  bm: number;
  bn4: number;
  bk: number;
  wgM: number;
  wgN: number;
}


export const DEFAULT_TILE: ConvTile = { bm: 64, bn4: 16, bk: 16, wgM: 16, wgN: 16 };

export function chooseVariant(node: Pick<Conv2dNode, 'kernel' | 'pads'>, cin: number): ConvVariant {
  if (node.kernel[0] === 1 && node.kernel[1] === 1 && node.pads.every((p) => p === 0)) return 'conv1x1';
  return cin % 4 === 0 ? 'conv3x3' : 'conv7x7';
}

function chooseTile(cout: number): ConvTile {
  const nv = ceilDiv(cout, 4);
  if (nv <= 8) return { bm: 64, bn4: 8, bk: 16, wgM: 32, wgN: 8 };
  return DEFAULT_TILE;
}

/** conv2d (+ bias, + residual, + ReLU) over NHWC input `inShape`, weights HWIO. */
export interface ConvOptions {
  variant?: ConvVariant;
  strategy?: ConvStrategy;
  tile?: ConvTile;
  simd?: SimdTile;
  /** The device's subgroup size, required by the simd strategy. */
  subgroupSize?: number;
}

export function conv2dKernel(node: Conv2dNode, inShape: Shape, outShape: Shape, options: ConvOptions = {}): Kernel {
  const [inH, inW, cin] = inShape;
  const [outH, outW, cout] = outShape;
  const [kh, kw] = node.kernel;
  const variant = options.variant ?? chooseVariant(node, cin);
  const strategy = options.strategy ?? 'tiled';
  const tile = options.tile ?? chooseTile(cout);
  const sg = options.subgroupSize ?? 0;
  const st = options.simd ?? chooseSimdTile(outH * outW, sg || 8);
  if (strategy === 'simd' && !(sg > 0 && (4 * st.c4) % sg === 0 && st.wg % sg === 0)) {
    throw new Error(`${node.name}: the simd strategy needs a subgroup size dividing ${4 * st.c4} and ${st.wg} (got ${sg || 'none'})`);
  }
  const k = kh * kw * cin;
  const nv = ceilDiv(cout, 4);
  const vecA = cin % 4 === 0 && variant !== 'conv7x7';
  const residual = node.inputs.length > 1;
  if (tile.bm % tile.wgM || tile.bn4 % tile.wgN || tile.bk % 4) throw new Error(`${node.name}: bad tile ${JSON.stringify(tile)}`);
  if (variant === 'conv1x1' && (kh !== 1 || kw !== 1 || node.pads.some((p) => p !== 0) || node.strides[0] !== node.strides[1])) {
    throw new Error(`${node.name}: conv1x1 needs a 1x1 kernel, no padding and equal strides`);
  }
  const out = {
    K: k, NV: nv, COUT: cout, OHW: outH * outW,
    RESIDUAL: residual, RELU: node.relu, VEC_OUT: cout % 4 === 0, OUT_T: cout % 4 === 0 ? 'vec4<f32>' : 'f32',
  };
  const window = { IN_H: inH, IN_W: inW, OUT_W: outW, STRIDE_H: node.strides[0], STRIDE_W: node.strides[1], PAD_T: node.pads[0], PAD_L: node.pads[1] };
  let front: string;
  if (variant === 'conv1x1') front = specialize('conv1x1.wgsl', conv1x1, { VEC_A: vecA, CIN: cin, IN_W: inW, IN_HW: inH * inW, OUT_W: outW, STRIDE: node.strides[0] });
  else if (variant === 'conv3x3') front = specialize('conv3x3.wgsl', conv3x3, { VEC_A: vecA, CIN: cin, KW: kw }) + specialize('conv_window.wgsl', windowGeometry, window);
  else front = specialize('conv7x7.wgsl', conv7x7, { CIN: cin, ROW: kw * cin }) + specialize('conv_window.wgsl', windowGeometry, window);
  let mainLoop: string;
  let packed: Float32Array;
  if (strategy === 'tiled') {
    mainLoop = specialize('conv_gemm.wgsl', gemm, { VEC_A: vecA, BM: tile.bm, BN4: tile.bn4, BK: tile.bk, WG_M: tile.wgM, WG_N: tile.wgN, RM: tile.bm / tile.wgM, VN: tile.bn4 / tile.wgN });
    packed = padColumns(node.weights, k, cout);
  } else {
    const { data, row } = packSimdWeights(node.weights, k, cout, st.c4);
    mainLoop = specialize('conv_simd.wgsl', simd, { WG: st.wg, R: st.r, WROW: row, SG: sg, C4: st.c4, ...simdStatements(st, sg, vecA) });
    packed = data;
  }
  // The main loop goes first: conv_simd.wgsl starts with an `enable` directive.
  const code = mainLoop + front + specialize('conv_epilogue.wgsl', epilogue, out);

  const resources: Array<[number, Resource]> = [
    [0, { kind: 'params' }],
    [1, { kind: 'tensor', id: node.inputs[0]! }],
    [2, { kind: 'constant', name: `${node.name}/weights`, data: packed }],
    [3, { kind: 'constant', name: `${node.name}/bias`, data: padColumns(node.bias, 1, cout) }],
    [5, { kind: 'tensor', id: node.output }],
  ];
  if (residual) resources.push([4, { kind: 'tensor', id: node.inputs[1]! }]);
  return {
    label: node.name,
    code,
    resources,
    workgroups: strategy === 'tiled'
      ? (batch) => [ceilDiv(nv, tile.bn4), ceilDiv(batch * outH * outW, tile.bm), 1]
      : (batch) => [ceilDiv(batch * outH * outW, st.wg * st.r), ceilDiv(nv, st.c4), 1],
    flopsPerImage: 2 * outH * outW * cout * k,
  };
}

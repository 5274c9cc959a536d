/**
 * conv2d (+ bias, + residual, + ReLU) over NHWC input, HWIO weights, as an implicit GEMM
 * C[M, N] = A[M, K] * B[K, N]: M = batch x output pixels, N = output channels, K = KH * KW * CIN.
 * A kernel is four WGSL files joined: shaders/conv_bindings.wgsl (the bindings and constants, the one
 * interface the others use), a gather (how a row of A is read), a main loop (how the products are summed)
 * and shaders/conv_epilogue.wgsl (bias, residual, ReLU on the way out).
 */
import bindings from '../../shaders/conv_bindings.wgsl';
import epilogue from '../../shaders/conv_epilogue.wgsl';
import gatherPointwise from '../../shaders/conv_gather_pointwise.wgsl';
import gatherRows from '../../shaders/conv_gather_rows.wgsl';
import gatherWindow from '../../shaders/conv_gather_window.wgsl';
import gemm from '../../shaders/conv_gemm.wgsl';
import simd from '../../shaders/conv_simd.wgsl';
import splitSum from '../../shaders/conv_splitk.wgsl';
import windowOrigin from '../../shaders/conv_window.wgsl';
import type { Conv2dNode, Shape } from '../graph/ir.js';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import { chooseSimdTile, packSimdWeights, simdRow, simdStatements } from './conv-simd.js';
import { chooseTiling, tilingProblem, type Tiling, type TilingPolicy } from './conv-tiling.js';
import { ceilDiv, elementwiseWorkgroups, padColumns, WORKGROUP_SIZE, type Kernel, type Resource } from './kernel.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** The bindings of every conv kernel, as shaders/conv_bindings.wgsl declares them. */
export const CONV_BINDINGS = { params: 0, input: 1, weights: 2, bias: 3, residual: 4, output: 5, scale: 6 } as const;

/**
 * How a row of A is read: `pointwise` for a 1x1 unpadded conv (the input pixels themselves), `window` for
 * any KxK window (vec4 loads when CIN is a multiple of 4), `rows` for a KxK window over few channels,
 * read as contiguous rows of KW x CIN values (the stem over RGB).
 */
export type ConvGather = 'pointwise' | 'window' | 'rows';

/**
 * How the GEMM is run: `tiled` stages tiles in workgroup memory (GPUs); `simd` gives each invocation a
 * few output pixels and shares weights across a subgroup by register shuffles (CPU adapters, whose
 * invocations are SIMD lanes; needs the `subgroups` feature and a fixed subgroup size).
 */
export type ConvStrategy = 'tiled' | 'simd';

export interface ConvOptions {
  gather?: ConvGather;
  strategy?: ConvStrategy;
  /** The batch the kernels are planned for: with `tiled`, it sets M and so the tiling. Default 1. */
  batch?: number;
  /** Tiled: a fixed tile and split-K factor instead of chooseTiling's. */
  tiling?: Tiling;
  policy?: TilingPolicy;
  /** The device's subgroup size, required by the simd strategy. */
  subgroupSize?: number;
  /**
   * How the weights are stored (src/ops/weight-storage.ts): 'f32' (default), 'f16' (half the memory and
   * weight reads, ~1e-3 relative rounding) or 'int8' (a quarter; per output channel scales). Sums are f32.
   */
  weightStorage?: WeightStorage;
  /** Tiled: the main loop's WGSL instead of shaders/conv_gemm.wgsl (experiments in bench/kernels/, same defines). */
  gemmShader?: string;
}

function chooseGather(node: Pick<Conv2dNode, 'kernel' | 'pads'>, cin: number): ConvGather {
  if (node.kernel[0] === 1 && node.kernel[1] === 1 && node.pads.every((p) => p === 0)) return 'pointwise';
  return cin % 4 === 0 ? 'window' : 'rows';
}

/** The GEMM's sizes for one conv. */
interface Gemm {
  node: Conv2dNode;
  inShape: Shape;
  outShape: Shape;
  k: number;
  nv: number;
  ohw: number;
  /** Whether A is read as vec4 (CIN a multiple of 4, not the rows gather). */
  vecA: boolean;
}

/** shaders/conv_bindings.wgsl for one kernel of `g`: which bindings it has and their element types. */
function interfaceCode(g: Gemm, kernel: { weights?: string; partial: boolean; scaled: boolean; subgroups?: boolean; partialInput?: boolean }): string {
  const cout = g.outShape[2];
  return specialize('conv_bindings.wgsl', bindings, {
    SUBGROUPS: kernel.subgroups ?? false,
    IN_T: kernel.partialInput || g.vecA ? 'vec4<f32>' : 'f32',
    WEIGHTS: kernel.weights !== undefined,
    W_T: kernel.weights ?? 'f32',
    PARTIAL: kernel.partial,
    SCALED: kernel.scaled && !kernel.partial,
    RESIDUAL: g.node.inputs.length > 1,
    OUT_T: cout % 4 === 0 ? 'vec4<f32>' : 'f32',
    K: g.k, NV: g.nv, COUT: cout, OHW: g.ohw,
  });
}

function epilogueCode(g: Gemm, partial: boolean, scaled: boolean): string {
  return specialize('conv_epilogue.wgsl', epilogue, { PARTIAL: partial, SCALED: scaled && !partial, RESIDUAL: g.node.inputs.length > 1, RELU: g.node.relu, VEC_OUT: g.outShape[2] % 4 === 0 });
}

function gatherCode(g: Gemm, gather: ConvGather): string {
  const { node, inShape: [inH, inW, cin], outShape: [, outW] } = g;
  if (gather === 'pointwise') {
    if (node.kernel[0] !== 1 || node.kernel[1] !== 1 || node.pads.some((p) => p !== 0) || node.strides[0] !== node.strides[1]) {
      throw new Error(`${node.name}: the pointwise gather needs a 1x1 kernel, no padding and equal strides`);
    }
    return specialize('conv_gather_pointwise.wgsl', gatherPointwise, { VEC_A: g.vecA, CIN: cin, IN_W: inW, IN_HW: inH * inW, OUT_W: outW, STRIDE: node.strides[0] });
  }
  const origin = specialize('conv_window.wgsl', windowOrigin, {
    IN_H: inH, IN_W: inW, OUT_W: outW, STRIDE_H: node.strides[0], STRIDE_W: node.strides[1], PAD_T: node.pads[0], PAD_L: node.pads[1],
  });
  const kw = node.kernel[1];
  return origin + (gather === 'window'
    ? specialize('conv_gather_window.wgsl', gatherWindow, { VEC_A: g.vecA, CIN: cin, KW: kw })
    : specialize('conv_gather_rows.wgsl', gatherRows, { CIN: cin, ROW: kw * cin }));
}

/** What a main loop contributes to a kernel: its code, the weights as it reads them, and its dispatch. */
interface MainLoop {
  code: string;
  weightType: string;
  weights: Resource;
  workgroups: Kernel['workgroups'];
  subgroups: boolean;
  describe: string;
}

function tiledLoop(g: Gemm, tiling: Tiling, storage: WeightStorage, gemmShader = gemm): MainLoop {
  const { node, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const { tile, split } = tiling;
  const ks = ceilDiv(ceilDiv(k, tile.bk), split) * tile.bk;
  return {
    code: specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: storage === 'int8' }) + specialize('conv_gemm.wgsl', gemmShader, {
      VEC_A: g.vecA, BM4: tile.bm / 4, BN4: tile.bn4, BK: tile.bk, WG_M: tile.wgM, WG_N: tile.wgN,
      TM4: tile.bm / 4 / tile.wgM, TN4: tile.bn4 / tile.wgN, KS: split > 1 ? ks : k,
    }),
    weightType: COLUMN_ELEMENT[storage],
    weights: { kind: 'constant', name: `${node.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`, pack: () => packColumns(storage, node, k, cout) },
    workgroups: (batch) => [ceilDiv(nv, tile.bn4), ceilDiv(batch * ohw, tile.bm), split],
    subgroups: false,
    describe: `tile ${tile.bm}x${4 * tile.bn4}${split > 1 ? `, split-K ${split}` : ''}`,
  };
}

function simdLoop(g: Gemm, sg: number, storage: WeightStorage): MainLoop {
  const { node, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const st = chooseSimdTile(ohw, sg || 8);
  if (!(sg > 0 && (4 * st.c4) % sg === 0 && st.wg % sg === 0)) {
    throw new Error(`${node.name}: the simd strategy needs a subgroup size dividing ${4 * st.c4} and ${st.wg} (got ${sg || 'none'})`);
  }
  const layout = `simd, ${st.c4} vec4 columns${storage === 'f32' ? '' : `, ${storage}`}`;
  return {
    code: specialize('conv_simd.wgsl', simd, { WG: st.wg, R: st.r, WROW: simdRow(cout, st.c4), SG: sg, C4: st.c4, ...simdStatements(st, sg, g.vecA, storage) }) +
      (storage === 'int8' ? specialize('weights_vec4.wgsl', weightsVec4, { F16: false, INT8: true }) : ''),
    weightType: storage === 'f32' ? 'f32' : 'u32',
    weights: { kind: 'constant', name: `${node.name}/weights (${layout})`, pack: () => packSimdWeights(storage, node, k, cout, st.c4) },
    workgroups: (batch) => [ceilDiv(batch * ohw, st.wg * st.r), ceilDiv(nv, st.c4), 1],
    subgroups: true,
    describe: 'simd',
  };
}

/**
 * The kernels of one conv: the main loop with the epilogue, or with split-K, the main loop writing
 * partial sums to a scratch tensor and conv_splitk.wgsl summing them through the epilogue.
 */
export function conv2dKernels(node: Conv2dNode, inShape: Shape, outShape: Shape, options: ConvOptions = {}): Kernel[] {
  const [inH, inW, cin] = inShape;
  const [outH, outW, cout] = outShape;
  const [kh, kw] = node.kernel;
  const gather = options.gather ?? chooseGather(node, cin);
  const strategy = options.strategy ?? 'tiled';
  const g: Gemm = { node, inShape, outShape, k: kh * kw * cin, nv: ceilDiv(cout, 4), ohw: outH * outW, vecA: cin % 4 === 0 && gather !== 'rows' };
  const storage = options.weightStorage ?? 'f32';
  const scaled = storage === 'int8';
  const tiling = options.tiling ?? chooseTiling((options.batch ?? 1) * g.ohw, cout, g.k, options.policy);
  const problem = tilingProblem(tiling);
  if (strategy === 'tiled' && problem) throw new Error(`${node.name}: ${problem}`);
  const splitK = strategy === 'tiled' && tiling.split > 1;
  const loop = strategy === 'tiled' ? tiledLoop(g, tiling, storage, options.gemmShader) : simdLoop(g, options.subgroupSize ?? 0, storage);
  const B = CONV_BINDINGS;
  const tensor = (id: string): Resource => ({ kind: 'tensor', id });
  const bias: [number, Resource] = [B.bias, { kind: 'constant', name: `${node.name}/bias`, pack: () => padColumns(node.bias, 1, cout) }];
  const epilogueResources: Array<[number, Resource]> = [bias, ...(node.inputs[1] ? [[B.residual, tensor(node.inputs[1])] as [number, Resource]] : [])];
  if (scaled) epilogueResources.push([B.scale, { kind: 'constant', name: `${node.name}/scale (int8)`, pack: () => epilogueScales(node, g.k, cout) }]);
  const partialId = `${node.name}/partial`;
  const main: Kernel = {
    label: node.name,
    detail: `${inH}x${inW}x${cin} -> ${outH}x${outW}x${cout}, ${kh}x${kw}/${node.strides[0]}, ${loop.describe}${storage === 'f32' ? '' : `, ${storage} weights`}`,
    tiling: strategy === 'tiled' ? { tile: tiling.tile, split: splitK ? tiling.split : 1 } : undefined,
    code: interfaceCode(g, { weights: loop.weightType, partial: splitK, scaled, subgroups: loop.subgroups }) + gatherCode(g, gather) + loop.code + epilogueCode(g, splitK, scaled),
    resources: [[B.params, { kind: 'params' }], [B.input, tensor(node.inputs[0]!)], [B.weights, loop.weights]],
    workgroups: loop.workgroups,
    flopsPerImage: 2 * g.ohw * cout * g.k,
  };
  if (!splitK) {
    main.resources.push(...epilogueResources, [B.output, tensor(node.output)]);
    return [main];
  }
  main.resources.push([B.output, tensor(partialId)]);
  main.scratch = [{ id: partialId, shape: [tiling.split * outH, outW, g.nv * 4] }];
  const sum: Kernel = {
    label: `${node.name}/sum`,
    detail: `sum of ${tiling.split} partial results + epilogue`,
    code: interfaceCode(g, { partial: false, scaled, partialInput: true }) + specialize('conv_splitk.wgsl', splitSum, { SPLIT: tiling.split, WORKGROUP_SIZE }) + epilogueCode(g, false, scaled),
    resources: [[B.params, { kind: 'params' }], [B.input, tensor(partialId)], ...epilogueResources, [B.output, tensor(node.output)]],
    workgroups: (batch, max) => elementwiseWorkgroups(batch * g.ohw * g.nv, max),
    flopsPerImage: g.ohw * g.nv * 4 * tiling.split,
  };
  return [main, sum];
}

/**
 * conv2d (+ bias, + residual, + ReLU) over NHWC input, HWIO weights, as an implicit GEMM
 * C[M, N] = A[M, K] * B[K, N]: M = batch x output pixels, N = output channels, K = KH * KW * CIN.
 * A kernel is its bindings (declared from CONV_BINDINGS, the one interface of the family) and four WGSL
 * files joined: shaders/conv_constants.wgsl, a gather (how a row of A is read), a main loop (how the
 * products are summed) and shaders/conv_epilogue.wgsl (bias, residual, ReLU on the way out).
 */
import convConstants from '../../shaders/conv_constants.wgsl';
import epilogue from '../../shaders/conv_epilogue.wgsl';
import gatherPointwise from '../../shaders/conv_gather_pointwise.wgsl';
import gatherRows from '../../shaders/conv_gather_rows.wgsl';
import gatherWindow from '../../shaders/conv_gather_window.wgsl';
import gemm from '../../shaders/conv_gemm.wgsl';
import simd from '../../shaders/conv_simd.wgsl';
import splitSum from '../../shaders/conv_splitk.wgsl';
import windowOrigin from '../../shaders/conv_window.wgsl';
import winogradInput from '../../shaders/winograd_input.wgsl';
import winogradOutput from '../../shaders/winograd_output.wgsl';
import winograd4Input from '../../shaders/winograd4_input.wgsl';
import winograd4Output from '../../shaders/winograd4_output.wgsl';
import winogradTilesCode from '../../shaders/winograd_tiles.wgsl';
import winogradWindow from '../../shaders/winograd_window.wgsl';
import type { Conv2dNode, Shape } from '../graph/ir.js';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import { chooseSimdTile, packSimdWeights, simdRow, simdSliceWords, simdStatements } from './conv-simd.js';
import type { Tiling } from './conv-tiling.js';
import { halfSplit, type ConvAlgorithm, type ConvGather } from '../plan/conv-algorithm.js';
import { activations, bindKernel, constants, params, type Bound, type KernelInterface } from './bindings.js';
import { ceilDiv, elementwiseWorkgroups, padColumns, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { winogradFits, winogradPoints, winogradTiles, winogradWeights, type WinogradTile } from './winograd.js';
import { hashText, shader } from './shader.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** The bindings of every conv kernel (shaders/conv_constants.wgsl says what each holds). */
export const CONV_BINDINGS = {
  params: { binding: 0, kind: 'uniform' },
  input: { binding: 1, kind: 'activations' },
  weights: { binding: 2, kind: 'constants' },
  bias: { binding: 3, kind: 'constants' },
  residual: { binding: 4, kind: 'activations' },
  output: { binding: 5, kind: 'activations' },
  scale: { binding: 6, kind: 'constants' },
} as const satisfies KernelInterface;
type ConvBound = Partial<Record<keyof typeof CONV_BINDINGS, Bound>>;

/** How a conv's kernels are built beyond its algorithm: the weights' storage, and (experiments) another main loop. */
export interface ConvBuildOptions {
  /**
   * How the weights are stored (src/ops/weight-storage.ts): 'f32' (default), 'f16' (half the memory and
   * weight reads, ~1e-3 relative rounding) or 'int8' (a quarter; per output channel scales). Sums are f32.
   */
  weightStorage?: WeightStorage;
  /** Tiled: the main loop's WGSL instead of shaders/conv_gemm.wgsl (experiments in bench/kernels/, same defines). */
  gemmShader?: string;
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

/** One kernel's bindings (of CONV_BINDINGS, `bound` plus params) and constants, and its resource list. */
function convInterface(g: Gemm, bound: ConvBound, subgroups = false): { code: string; resources: Kernel['resources'] } {
  const { wgsl, resources } = bindKernel(CONV_BINDINGS, { params: params(), ...bound }, subgroups ? ['subgroups'] : []);
  return {
    code:
      wgsl + specialize('conv_constants.wgsl', convConstants, { K: g.k, NV: g.nv, COUT: g.outShape[2], OHW: g.ohw }),
    resources,
  };
}

function epilogueCode(g: Gemm, partial: boolean, scaled: boolean): string {
  return specialize('conv_epilogue.wgsl', epilogue, {
    PARTIAL: partial,
    SCALED: scaled && !partial,
    RESIDUAL: g.node.inputs.length > 1,
    RELU: g.node.relu,
    VEC_OUT: g.outShape[2] % 4 === 0,
  });
}

function gatherCode(g: Gemm, gather: ConvGather): string {
  const {
    node,
    inShape: [inH, inW, cin],
    outShape: [, outW],
  } = g;
  if (gather === 'pointwise') {
    if (
      node.kernel[0] !== 1 ||
      node.kernel[1] !== 1 ||
      node.pads.some((p) => p !== 0) ||
      node.strides[0] !== node.strides[1]
    ) {
      throw new Error(`${node.name}: the pointwise gather needs a 1x1 kernel, no padding and equal strides`);
    }
    return specialize('conv_gather_pointwise.wgsl', gatherPointwise, {
      VEC_A: g.vecA,
      CIN: cin,
      IN_W: inW,
      IN_HW: inH * inW,
      OUT_W: outW,
      STRIDE: node.strides[0],
    });
  }
  const origin = specialize('conv_window.wgsl', windowOrigin, {
    IN_H: inH,
    IN_W: inW,
    OUT_W: outW,
    STRIDE_H: node.strides[0],
    STRIDE_W: node.strides[1],
    PAD_T: node.pads[0],
    PAD_L: node.pads[1],
  });
  const kw = node.kernel[1];
  return (
    origin +
    (gather === 'window'
      ? specialize('conv_gather_window.wgsl', gatherWindow, { VEC_A: g.vecA, CIN: cin, KW: kw })
      : specialize('conv_gather_rows.wgsl', gatherRows, { CIN: cin, ROW: kw * cin }))
  );
}

/** What a main loop contributes to a kernel: its code, the weights as it reads them, and its dispatch. */
interface MainLoop {
  /** Its WGSL (made on demand). */
  code: () => string;
  weights: Bound;
  workgroups: Kernel['workgroups'];
  subgroups: boolean;
  describe: string;
}

/** Slices: Winograd's 16 or 36 GEMMs in one dispatch (workgroup z: slice z), each with its own weights [k][cout]. */
interface Slices {
  count: number;
  weights: () => Float32Array[];
  name: string;
}

function tiledLoop(g: Gemm, tiling: Tiling, storage: WeightStorage, gemmShader = gemm, slices?: Slices): MainLoop {
  const { node, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const { tile, split } = tiling;
  if (slices && split > 1) throw new Error(`${node.name}: a sliced GEMM cannot also split K`);
  const ks = ceilDiv(ceilDiv(k, tile.bk), split) * tile.bk;
  const pack = slices
    ? () => concat(slices.weights().map((w) => packColumns(storage, { weights: w }, k, cout)))
    : () => packColumns(storage, node, k, cout);
  return {
    code: () =>
      specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: storage === 'int8' }) +
      specialize('conv_gemm.wgsl', gemmShader, {
        VEC_A: g.vecA,
        BM4: tile.bm / 4,
        BN4: tile.bn4,
        BK: tile.bk,
        WG_M: tile.wgM,
        WG_N: tile.wgN,
        TM4: tile.bm / 4 / tile.wgM,
        TN4: tile.bn4 / tile.wgN,
        KS: split > 1 ? ks : k,
        SLICED: slices !== undefined,
      }),
    weights: constants(
      `${node.name}/${slices?.name ?? 'weights'}${storage === 'f32' ? '' : ` (${storage})`}`,
      pack,
      COLUMN_ELEMENT[storage],
    ),
    workgroups: (batch) => [ceilDiv(nv, tile.bn4), ceilDiv(batch * ohw, tile.bm), slices?.count ?? split],
    subgroups: false,
    describe: `${slices ? `${slices.count} GEMMs, ` : ''}tile ${tile.bm}x${4 * tile.bn4}${split > 1 ? `, split-K ${split}` : ''}`,
  };
}

/** The slices' packed weights, one after another. */
function concat(parts: Array<Float32Array | Uint32Array>): Float32Array | Uint32Array {
  const out = new (parts[0]!.constructor as Float32ArrayConstructor | Uint32ArrayConstructor)(
    parts.reduce((n, p) => n + p.length, 0),
  );
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function simdLoop(
  g: Gemm,
  sg: number,
  storage: WeightStorage,
  slices?: { count: number; weights: () => Float32Array[]; name: string },
): MainLoop {
  const { node, k, nv, ohw } = g;
  const cout = g.outShape[2];
  const st = chooseSimdTile(ohw, sg || 8);
  if (!(sg > 0 && (4 * st.c4) % sg === 0 && st.wg % sg === 0)) {
    throw new Error(
      `${node.name}: the simd strategy needs a subgroup size dividing ${4 * st.c4} and ${st.wg} (got ${sg || 'none'})`,
    );
  }
  const layout = `simd, ${st.c4} vec4 columns${storage === 'f32' ? '' : `, ${storage}`}`;
  const row = simdRow(cout, st.c4);
  const pack = slices
    ? () => concat(slices.weights().map((w) => packSimdWeights(storage, { weights: w }, k, cout, st.c4)))
    : () => packSimdWeights(storage, node, k, cout, st.c4);
  return {
    code: () =>
      specialize('conv_simd.wgsl', simd, {
        WG: st.wg,
        R: st.r,
        WROW: row,
        SG: sg,
        C4: st.c4,
        WSLICE: simdSliceWords(storage, k, row),
        ...simdStatements(st, sg, g.vecA, storage),
      }) + (storage === 'int8' ? specialize('weights_vec4.wgsl', weightsVec4, { F16: false, INT8: true }) : ''),
    weights: constants(
      `${node.name}/${slices?.name ?? 'weights'} (${layout})`,
      pack,
      storage === 'f32' ? 'f32' : 'u32',
    ),
    workgroups: (batch) => [ceilDiv(batch * ohw, st.wg * st.r), ceilDiv(nv, st.c4), slices?.count ?? 1],
    subgroups: true,
    describe: slices ? `${slices.count} GEMMs, simd` : 'simd',
  };
}

const outputType = (g: Gemm) => (g.outShape[2] % 4 === 0 ? 'vec4<f32>' : 'f32');

/** What the epilogue binds: the bias, the residual, the int8 scales. */
function epilogueBindings(g: Gemm, scaled: boolean): ConvBound {
  const { node } = g;
  const cout = g.outShape[2];
  return {
    bias: constants(`${node.name}/bias`, () => padColumns(node.bias, 1, cout)),
    residual: node.inputs[1] ? activations(node.inputs[1], outputType(g)) : undefined,
    scale: scaled ? constants(`${node.name}/scale (int8)`, () => epilogueScales(node, g.k, cout)) : undefined,
  };
}

const WINOGRAD_SHADERS: Record<WinogradTile, { input: string; output: string; files: [string, string] }> = {
  2: { input: winogradInput, output: winogradOutput, files: ['winograd_input.wgsl', 'winograd_output.wgsl'] },
  4: { input: winograd4Input, output: winograd4Output, files: ['winograd4_input.wgsl', 'winograd4_output.wgsl'] },
};

/**
 * Winograd F(mxm, 3x3) (src/ops/winograd.ts), three kernels: the input transform into a scratch tensor of
 * (m+2)^2 slices, the main loop over the slices (a GEMM per transform point: a pointwise conv over the
 * tiles, raw sums into a second scratch tensor), and the output transform through the conv's epilogue.
 */
function winogradKernels(g: Gemm, algorithm: ConvAlgorithm, storage: WeightStorage, gemmShader?: string): Kernel[] {
  const {
    node,
    inShape: [inH, inW, cin],
    outShape: [outH, outW, cout],
  } = g;
  const m = algorithm.winograd!;
  if (!winogradFits(node, g.inShape) || storage === 'int8')
    throw new Error(
      `${node.name}: Winograd F(${m}x${m},3x3) needs a 3x3 stride-1 conv padded by 1, input channels a multiple of 4 and f32 or f16 weights`,
    );
  const [th, tw] = winogradTiles(g.outShape, m);
  const tiles = th * tw;
  const points = winogradPoints(m);
  const files = WINOGRAD_SHADERS[m];
  const [vId, mId] = [`${node.name}/winograd V`, `${node.name}/winograd M`];
  const gemmShape: Gemm = {
    node,
    inShape: [th, tw, cin],
    outShape: [th, tw, cout],
    k: cin,
    nv: g.nv,
    ohw: tiles,
    vecA: true,
  };
  const slices: Slices = {
    count: points,
    name: `winograd F${m} weights`,
    weights: () => winogradWeights(node.weights, cin, cout, m),
  };
  const loop =
    algorithm.strategy === 'simd'
      ? simdLoop(gemmShape, algorithm.subgroupSize, storage, slices)
      : tiledLoop(gemmShape, algorithm.tiling, storage, gemmShader, slices);
  const into = convInterface(g, {
    input: activations(node.inputs[0]!, 'vec4<f32>'),
    output: activations(vId, 'vec4<f32>'),
  });
  const gemmInterface = convInterface(
    gemmShape,
    { input: activations(vId, 'vec4<f32>'), weights: loop.weights, output: activations(mId, 'vec4<f32>') },
    loop.subgroups,
  );
  const out = convInterface(g, {
    input: activations(mId, 'vec4<f32>'),
    ...epilogueBindings(g, false),
    output: activations(node.output, outputType(g)),
  });
  const tileCode = (channels4: number) =>
    specialize('winograd_tiles.wgsl', winogradTilesCode, {
      TILE: m,
      TILES_W: tw,
      TILES: tiles,
      CHANNELS4: channels4,
      WORKGROUP_SIZE,
    });
  const windowCode = specialize('winograd_window.wgsl', winogradWindow, { IN_H: inH, IN_W: inW, CIN4: cin / 4 });
  const detail = `${inH}x${inW}x${cin} -> ${outH}x${outW}x${cout}, 3x3/1, Winograd F(${m}x${m},3x3)`;
  // each kernel's shader key: what its code is made from
  const kernel = (
    label: string,
    what: string,
    key: object,
    code: () => string,
    resources: Kernel['resources'],
    workgroups: Kernel['workgroups'],
    flopsPerImage: number,
  ): Kernel => ({
    label,
    detail: `${detail}: ${what}`,
    algorithm,
    bindings: CONV_BINDINGS,
    shader: shader(`winograd ${what.split(',')[0]}`, key, code),
    resources,
    workgroups,
    flopsPerImage,
  });
  const input = kernel(
    `${node.name}/winograd in`,
    'input transform',
    { inShape: g.inShape, outShape: g.outShape, m },
    () => into.code + tileCode(cin / 4) + windowCode + specialize(files.files[0], files.input, {}),
    into.resources,
    (batch, max) => elementwiseWorkgroups(batch * tiles * (cin / 4), max),
    points * 2 * (m + 2) * tiles * cin,
  );
  input.scratch = [{ id: vId, shape: [points * th, tw, cin] }];
  const gather = specialize('conv_gather_pointwise.wgsl', gatherPointwise, {
    VEC_A: true,
    CIN: cin,
    IN_W: tw,
    IN_HW: tiles,
    OUT_W: tw,
    STRIDE: 1,
  });
  const gemm = kernel(
    node.name,
    `${loop.describe}${storage === 'f32' ? '' : `, ${storage} weights`}`,
    {
      inShape: g.inShape,
      outShape: g.outShape,
      algorithm,
      storage,
      gemm: gemmShader ? hashText(gemmShader) : undefined,
    },
    () => gemmInterface.code + gather + loop.code() + epilogueCode(gemmShape, true, false),
    gemmInterface.resources,
    loop.workgroups,
    2 * points * tiles * cin * cout,
  );
  gemm.scratch = [{ id: mId, shape: [points * th, tw, g.nv * 4] }];
  const output = kernel(
    `${node.name}/winograd out`,
    'output transform + epilogue',
    { outShape: g.outShape, residual: node.inputs.length > 1, relu: node.relu, m },
    () =>
      out.code +
      tileCode(g.nv) +
      specialize(files.files[1], files.output, { OUT_H: outH, OUT_W: outW }) +
      epilogueCode(g, false, false),
    out.resources,
    (batch, max) => elementwiseWorkgroups(batch * tiles * g.nv, max),
    (m === 2 ? 24 : 130) * tiles * g.nv * 4,
  );
  return [input, gemm, output];
}

/**
 * The kernels of one conv: the main loop with the epilogue, or with split-K, the main loop writing
 * partial sums to a scratch tensor and conv_splitk.wgsl summing them through the epilogue.
 */
export function conv2dKernels(
  node: Conv2dNode,
  inShape: Shape,
  outShape: Shape,
  algorithm: ConvAlgorithm,
  options: ConvBuildOptions = {},
): Kernel[] {
  const [inH, inW, cin] = inShape;
  const [outH, outW, cout] = outShape;
  const [kh, kw] = node.kernel;
  const { gather } = algorithm;
  const g: Gemm = {
    node,
    inShape,
    outShape,
    k: kh * kw * cin,
    nv: ceilDiv(cout, 4),
    ohw: outH * outW,
    vecA: cin % 4 === 0 && gather !== 'rows',
  };
  const storage = options.weightStorage ?? 'f32';
  const scaled = storage === 'int8';
  const split = algorithm.strategy === 'tiled' ? algorithm.tiling.split : 1;
  const splitK = split > 1;
  if (algorithm.winograd) return winogradKernels(g, algorithm, storage, options.gemmShader);
  const loop =
    algorithm.strategy === 'tiled'
      ? tiledLoop(g, algorithm.tiling, storage, options.gemmShader)
      : simdLoop(g, algorithm.subgroupSize, storage);
  const outT = outputType(g);
  const epilogueBound = epilogueBindings(g, scaled);
  const partialId = `${node.name}/partial`;
  const written: ConvBound = splitK
    ? { output: activations(partialId, 'vec4<f32>') }
    : { ...epilogueBound, output: activations(node.output, outT) };
  const mainInterface = convInterface(
    g,
    { input: activations(node.inputs[0]!, g.vecA ? 'vec4<f32>' : 'f32'), weights: loop.weights, ...written },
    loop.subgroups,
  );
  // everything the code of this conv's kernels is made from (not its name: same-shaped convs share pipelines)
  const inputs = {
    inShape,
    outShape,
    kernel: node.kernel,
    strides: node.strides,
    pads: node.pads,
    relu: node.relu,
    residual: node.inputs.length > 1,
    algorithm,
    storage,
    gemm: options.gemmShader ? hashText(options.gemmShader) : undefined,
  };
  const main: Kernel = {
    label: node.name,
    detail: `${inH}x${inW}x${cin} -> ${outH}x${outW}x${cout}, ${kh}x${kw}/${node.strides[0]}, ${loop.describe}${storage === 'f32' ? '' : `, ${storage} weights`}`,
    algorithm,
    bindings: CONV_BINDINGS,
    shader: shader(
      'conv',
      inputs,
      () => mainInterface.code + gatherCode(g, gather) + loop.code() + epilogueCode(g, splitK, scaled),
    ),
    resources: mainInterface.resources,
    workgroups: loop.workgroups,
    flopsPerImage: 2 * g.ohw * cout * g.k,
  };
  if (!splitK) return [main];
  main.scratch = [{ id: partialId, shape: [split * outH, outW, g.nv * 4] }];
  main.lessScratch = () => halfSplit(algorithm);
  const sumInterface = convInterface(g, {
    input: activations(partialId, 'vec4<f32>'),
    ...epilogueBound,
    output: activations(node.output, outT),
  });
  const sum: Kernel = {
    label: `${node.name}/sum`,
    detail: `sum of ${split} partial results + epilogue`,
    bindings: CONV_BINDINGS,
    shader: shader(
      'conv/sum',
      { k: g.k, outShape, residual: inputs.residual, relu: node.relu, scaled, split },
      () =>
        sumInterface.code +
        specialize('conv_splitk.wgsl', splitSum, { SPLIT: split, WORKGROUP_SIZE }) +
        epilogueCode(g, false, scaled),
    ),
    resources: sumInterface.resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * g.ohw * g.nv, max),
    flopsPerImage: g.ohw * g.nv * 4 * split,
  };
  return [main, sum];
}

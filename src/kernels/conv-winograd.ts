/**
 * Winograd F(mxm, 3x3) (src/kernels/winograd.ts) as three kernels: the input transform into a scratch
 * tensor of (m+2)^2 slices, the main loop over the slices (a GEMM per transform point: a pointwise conv over
 * the tiles, raw sums into a second scratch tensor), and the output transform through the conv's epilogue.
 */
import { structuralKey } from '../ir/node.js';
import { activations } from './bindings.js';
import { simdLoop, type Slices, tiledLoop } from './conv-loops.js';
import {
  CONV_BINDINGS,
  convInterface,
  epilogueBindings,
  epilogueCode,
  type Gemm,
  gemmKey,
  outputType,
  pointwiseGather,
  preactBinding,
  preactCode,
  storageNote,
} from './conv-parts.js';
import { CONV_SHADERS } from './conv-shaders.js';
import { type ConvAlgorithm, CONV_INPUTS, convGemm } from './conv-types.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { hashText, shader } from './shader.js';
import type { WeightStorage } from './weight-storage.js';
import { type WinogradTile, winogradFits, winogradPoints, winogradTiles, winogradWeights } from './winograd.js';
import { specialize } from './wgsl.js';

/** Each tile size's transforms: [file, source] of the input and the output transform. */
const TRANSFORMS: Record<WinogradTile, { input: [string, string]; output: [string, string] }> = {
  2: {
    input: ['winograd_input.wgsl', CONV_SHADERS.winogradInput],
    output: ['winograd_output.wgsl', CONV_SHADERS.winogradOutput],
  },
  4: {
    input: ['winograd4_input.wgsl', CONV_SHADERS.winograd4Input],
    output: ['winograd4_output.wgsl', CONV_SHADERS.winograd4Output],
  },
};

/** What the kernels of one Winograd conv share: the tiles, the slices' GEMM, the scratch tensors. */
interface Winograd {
  g: Gemm;
  m: WinogradTile;
  algorithm: ConvAlgorithm;
  tiles: number;
  tilesW: number;
  points: number;
  /** The GEMM of one slice: a pointwise conv over the tiles. */
  slice: Gemm;
  /** The scratch tensors: the transformed input (V) and the slices' sums (M). */
  v: string;
  sums: string;
  detail: string;
}

function winogradOf(g: Gemm, algorithm: ConvAlgorithm): Winograd {
  const { spec, inShape, outShape } = g;
  const m = algorithm.winograd!;
  const [th, tw] = winogradTiles(outShape, m);
  const [cin, cout] = [inShape[2], outShape[2]];
  return {
    g,
    m,
    algorithm,
    tiles: th * tw,
    tilesW: tw,
    points: winogradPoints(m),
    slice: { spec, inShape: [th, tw, cin], outShape: [th, tw, cout], k: cin, nv: g.nv, ohw: th * tw, vecA: true },
    v: `${spec.name}/winograd V`,
    sums: `${spec.name}/winograd M`,
    detail: `${inShape.join('x')} -> ${outShape.join('x')}, 3x3/1, Winograd F(${m}x${m},3x3)`,
  };
}

type KernelParts = Pick<Kernel, 'shader' | 'resources' | 'workgroups' | 'flopsPerImage' | 'scratch' | 'gemm'>;

const kernelOf = (w: Winograd, label: string, what: string, parts: KernelParts): Kernel => ({
  label,
  detail: `${w.detail}: ${what}`,
  algorithm: w.algorithm,
  bindings: CONV_BINDINGS,
  ...parts,
});

function tileCode(w: Winograd, channels4: number): string {
  const defines = { TILE: w.m, TILES_W: w.tilesW, TILES: w.tiles, CHANNELS4: channels4, WORKGROUP_SIZE };
  return specialize('winograd_tiles.wgsl', CONV_SHADERS.winogradTiles, defines);
}

function inputTransform(w: Winograd): Kernel {
  const { g, m, tiles, points } = w;
  const [inH, inW, cin] = g.inShape;
  const into = convInterface(g, {
    input: activations(g.spec.input, 'vec4<f32>'),
    output: activations(w.v, 'vec4<f32>'),
    ...preactBinding(g),
  });
  const [file, source] = TRANSFORMS[m].input;
  const window = () =>
    specialize('winograd_window.wgsl', CONV_SHADERS.winogradWindow, { IN_H: inH, IN_W: inW, CIN4: cin / 4 });
  const preact = g.spec.preact && { relu: g.spec.preact.relu };
  const inputs = { inShape: g.inShape, outShape: g.outShape, m, preact };
  return kernelOf(w, `${g.spec.name}/winograd in`, 'input transform', {
    shader: shader(
      'winograd input',
      inputs,
      () => into.code + tileCode(w, cin / 4) + preactCode(g) + window() + specialize(file, source, {}),
    ),
    resources: into.resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * tiles * (cin / 4), max),
    flopsPerImage: points * 2 * (m + 2) * tiles * cin,
    scratch: [{ id: w.v, shape: [points * w.slice.inShape[0], w.tilesW, cin] }],
  });
}

/** The slices' GEMMs: raw sums (the epilogue runs in the output transform, so it is not in the key). */
function sliceGemms(w: Winograd, storage: WeightStorage, gemmShader?: string): Kernel {
  const { g, slice, algorithm, points, tiles, m } = w;
  const [cin, cout] = [g.inShape[2], g.outShape[2]];
  const slices: Slices = {
    count: points,
    name: `winograd F${m} weights`,
    weights: () => winogradWeights(g.spec.weights, cin, cout, m),
  };
  if (algorithm.strategy === 'grouped') throw new Error(`${g.spec.name}: Winograd is not for grouped convs`);
  const loop =
    algorithm.strategy === 'simd'
      ? simdLoop(slice, algorithm.subgroupSize, storage, slices)
      : tiledLoop(slice, algorithm.tiling, storage, gemmShader, slices);
  const bound = convInterface(
    slice,
    { input: activations(w.v, 'vec4<f32>'), weights: loop.weights, output: activations(w.sums, 'vec4<f32>') },
    loop.subgroups,
  );
  const inputs = {
    inShape: g.inShape,
    outShape: g.outShape,
    node: structuralKey(g.spec, ['input'], ['residual', 'relu', 'preact']),
    algorithm,
    storage,
    gemm: gemmShader ? hashText(gemmShader) : undefined,
  };
  const gather = preactCode(slice, false) + pointwiseGather(true, slice.inShape, w.tilesW, 1);
  return kernelOf(w, g.spec.name, `${loop.describe}${storageNote(storage)}`, {
    shader: shader('winograd gemm', inputs, () => bound.code + gather + loop.code() + epilogueCode(slice, true, false)),
    resources: bound.resources,
    workgroups: loop.workgroups,
    flopsPerImage: 2 * points * tiles * cin * cout,
    scratch: [{ id: w.sums, shape: [points * slice.inShape[0], w.tilesW, g.nv * 4] }],
    gemm: { key: gemmKey(inputs), ...convGemm(g.spec, g.inShape, g.outShape, m) },
  });
}

function outputTransform(w: Winograd): Kernel {
  const { g, m, tiles } = w;
  const [outH, outW] = g.outShape;
  const out = convInterface(g, {
    input: activations(w.sums, 'vec4<f32>'),
    ...epilogueBindings(g, false),
    output: activations(g.spec.output, outputType(g)),
  });
  const [file, source] = TRANSFORMS[m].output;
  const node = structuralKey(g.spec, CONV_INPUTS, ['kernel', 'strides', 'pads', 'preact']);
  // the input's shape too: conv_constants.wgsl's K (9 x CIN) is in its code
  const inputs = { inShape: g.inShape, outShape: g.outShape, node, m };
  const code = () =>
    out.code +
    tileCode(w, g.nv) +
    specialize(file, source, { OUT_H: outH, OUT_W: outW }) +
    epilogueCode(g, false, false);
  return kernelOf(w, `${g.spec.name}/winograd out`, 'output transform + epilogue', {
    shader: shader('winograd output', inputs, code),
    resources: out.resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * tiles * g.nv, max),
    flopsPerImage: (m === 2 ? 24 : 130) * tiles * g.nv * 4,
  });
}

/** The three kernels of a conv computed by Winograd (`algorithm.winograd`). */
export function winogradKernels(
  g: Gemm,
  algorithm: ConvAlgorithm,
  storage: WeightStorage,
  gemmShader?: string,
): Kernel[] {
  const m = algorithm.winograd!;
  if (!winogradFits(g.spec, g.inShape) || storage === 'int8') {
    const needs = 'a 3x3 stride-1 conv padded by 1, input channels a multiple of 4 and f32 or f16 weights';
    throw new Error(`${g.spec.name}: Winograd F(${m}x${m},3x3) needs ${needs}`);
  }
  const w = winogradOf(g, algorithm);
  return [inputTransform(w), sliceGemms(w, storage, gemmShader), outputTransform(w)];
}

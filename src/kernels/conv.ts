/**
 * conv2d (+ bias, + residual, + ReLU) over NHWC input, HWIO weights, as an implicit GEMM
 * C[M, N] = A[M, K] * B[K, N] (src/kernels/conv-types.ts convGemm): a kernel joins its bindings,
 * shaders/conv_constants.wgsl, a gather, a main loop and shaders/conv_epilogue.wgsl (src/kernels/conv-parts.ts,
 * conv-loops.ts). This module builds the kernels of a decision (src/operators/conv-algorithm.ts) and decides
 * nothing itself: Winograd's three (conv-winograd.ts), the direct conv, or with split-K, the main loop writing
 * partial sums to a scratch tensor and shaders/conv_splitk.wgsl summing them through the epilogue.
 */
import { structuralKey } from '../ir/node.js';
import type { Shape } from '../ir/tensor.js';
import { activations } from './bindings.js';
import { groupedLoop, simdLoop, tiledLoop } from './conv-loops.js';
import {
  CONV_BINDINGS,
  type ConvBound,
  convInterface,
  epilogueBindings,
  epilogueCode,
  type Gemm,
  gatherCode,
  gemmKey,
  outputType,
  preactBinding,
  preactCode,
  storageNote,
} from './conv-parts.js';
import { CONV_SHADERS } from './conv-shaders.js';
import { type ConvAlgorithm, type ConvBuildOptions, CONV_INPUTS, type ConvSpec, convGemm } from './conv-types.js';
import { winogradKernels } from './conv-winograd.js';
import { ceilDiv, elementwiseWorkgroups, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { hashText, shader } from './shader.js';
import { specialize } from './wgsl.js';

/** The kernels of one conv of `spec` from `inShape` to `outShape`, computed as `algorithm` decides. */
export function convKernels(
  spec: ConvSpec,
  inShape: Shape,
  outShape: Shape,
  algorithm: ConvAlgorithm,
  options: ConvBuildOptions = {},
): Kernel[] {
  const { m: ohw, k } = convGemm(spec, inShape, outShape);
  const cing = inShape[2] / (spec.groups ?? 1);
  const vecA = inShape[2] % 4 === 0 && cing % 4 === 0 && algorithm.gather !== 'rows';
  const g: Gemm = { spec, inShape, outShape, k, nv: ceilDiv(outShape[2], 4), ohw, vecA };
  const storage = options.weightStorage ?? 'f32';
  if (algorithm.winograd) return winogradKernels(g, algorithm, storage, options.gemmShader);
  const split = algorithm.strategy === 'tiled' ? algorithm.tiling.split : 1;
  const main = mainKernel(g, algorithm, options);
  return split > 1 ? [main, splitSum(g, split, storage === 'int8')] : [main];
}

const partialOf = (spec: ConvSpec) => `${spec.name}/partial`;

/** The main loop with the epilogue, or (split-K) writing partial sums into a scratch tensor. */
function mainKernel(g: Gemm, algorithm: ConvAlgorithm, options: ConvBuildOptions): Kernel {
  const { spec, inShape, outShape } = g;
  const storage = options.weightStorage ?? 'f32';
  const scaled = storage === 'int8';
  const split = algorithm.strategy === 'tiled' ? algorithm.tiling.split : 1;
  const loop =
    algorithm.strategy === 'tiled'
      ? tiledLoop(g, algorithm.tiling, storage, options.gemmShader)
      : algorithm.strategy === 'simd'
        ? simdLoop(g, algorithm.subgroupSize, storage)
        : groupedLoop(g, storage, algorithm.subgroupSize);
  const written: ConvBound =
    split > 1
      ? { output: activations(partialOf(spec), 'vec4<f32>') }
      : { ...epilogueBindings(g, scaled), output: activations(spec.output, outputType(g)) };
  const input = activations(spec.input, g.vecA ? 'vec4<f32>' : 'f32');
  const bound = convInterface(g, { input, weights: loop.weights, ...written, ...preactBinding(g) }, loop.subgroups);
  // everything its code is made from (not the conv's name: same-shaped convs share pipelines)
  const inputs = {
    inShape,
    outShape,
    node: structuralKey(spec, CONV_INPUTS),
    algorithm,
    storage,
    gemm: options.gemmShader ? hashText(options.gemmShader) : undefined,
  };
  const [kh, kw] = spec.kernel;
  const gather = () => (algorithm.strategy === 'grouped' ? preactCode(g) : gatherCode(g, algorithm.gather));
  const code = () => bound.code + gather() + loop.code() + epilogueCode(g, split > 1, scaled);
  return {
    label: spec.name,
    detail:
      `${inShape.join('x')} -> ${outShape.join('x')}, ${kh}x${kw}/${spec.strides[0]}, ` +
      `${loop.describe}${storageNote(storage)}`,
    algorithm,
    bindings: CONV_BINDINGS,
    shader: shader('conv', inputs, code),
    resources: bound.resources,
    workgroups: loop.workgroups,
    flopsPerImage: 2 * g.ohw * outShape[2] * g.k,
    gemm: { key: gemmKey(inputs), ...convGemm(spec, inShape, outShape) },
    ...(split > 1 && { scratch: [{ id: partialOf(spec), shape: [split * outShape[0], outShape[1], g.nv * 4] }] }),
  };
}

/** The split-K sum: the `split` partial results added, through the epilogue. */
function splitSum(g: Gemm, split: number, scaled: boolean): Kernel {
  const { spec, outShape } = g;
  const bound = convInterface(g, {
    input: activations(partialOf(spec), 'vec4<f32>'),
    ...epilogueBindings(g, scaled),
    output: activations(spec.output, outputType(g)),
  });
  const inputs = {
    node: structuralKey(spec, CONV_INPUTS, ['kernel', 'strides', 'pads', 'preact']),
    k: g.k,
    outShape,
    scaled,
    split,
  };
  const code = () =>
    bound.code +
    specialize('conv_splitk.wgsl', CONV_SHADERS.splitSum, { SPLIT: split, WORKGROUP_SIZE }) +
    epilogueCode(g, false, scaled);
  return {
    label: `${spec.name}/sum`,
    detail: `sum of ${split} partial results + epilogue`,
    bindings: CONV_BINDINGS,
    shader: shader('conv/sum', inputs, code),
    resources: bound.resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * g.ohw * g.nv, max),
    flopsPerImage: g.ohw * g.nv * 4 * split,
  };
}

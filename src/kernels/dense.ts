import dense from '../../shaders/dense.wgsl';
import softmax from '../../shaders/softmax.wgsl';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import type { QuantizedWeights, Shape } from '../ir/tensor.js';
import { ceilDiv, padColumns } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { activations, bindKernel, constants, type KernelInterface } from './bindings.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** A dense layer as its kernel reads it (src/operators/dense.ts's node is one): weights [in][out]. */
export interface DenseSpec {
  name: string;
  input: string;
  output: string;
  weights: Float32Array;
  bias: Float32Array;
  relu: boolean;
  /** Set when the weights were loaded as int8 (then `weights` holds their float values). */
  quantized?: QuantizedWeights;
}

export const DENSE_BINDINGS = {
  input: { binding: 1, kind: 'activations' },
  weights: { binding: 2, kind: 'constants' },
  bias: { binding: 3, kind: 'constants' },
  output: { binding: 4, kind: 'activations' },
  scale: { binding: 5, kind: 'constants' },
} as const satisfies KernelInterface;

export const SOFTMAX_BINDINGS = {
  input: { binding: 1, kind: 'activations' },
  output: { binding: 2, kind: 'activations' },
} as const satisfies KernelInterface;

/** Fully connected layer over a [1, 1, IN] vector per image; weights [IN][OUT] in `storage`
 * (src/kernels/weight-storage.ts). */
export function denseKernel(node: DenseSpec, inShape: Shape, outShape: Shape, storage: WeightStorage = 'f32'): Kernel {
  const inFeatures = inShape[0] * inShape[1] * inShape[2];
  const out = outShape[2];
  const nv = ceilDiv(out, 4);
  const scaled = storage === 'int8';
  const { wgsl, resources } = bindKernel(DENSE_BINDINGS, {
    input: activations(node.input),
    weights: constants(
      `${node.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`,
      () => packColumns(storage, node, inFeatures, out),
      COLUMN_ELEMENT[storage],
    ),
    bias: constants(`${node.name}/bias`, () => padColumns(node.bias, 1, out)),
    output: activations(node.output),
    scale: scaled ? constants(`${node.name}/scale (int8)`, () => epilogueScales(node, inFeatures, out)) : undefined,
  });
  return {
    label: node.name,
    detail: storage === 'f32' ? undefined : `${storage} weights`,
    bindings: DENSE_BINDINGS,
    shader: shader(
      'dense',
      { wgsl, inFeatures, out, relu: node.relu, storage },
      () =>
        wgsl +
        specialize('dense.wgsl', dense, { IN: inFeatures, OUT: out, NV: nv, RELU: node.relu, SCALED: scaled }) +
        specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: scaled }),
    ),
    resources,
    workgroups: (batch) => [nv, batch, 1],
    flopsPerImage: 2 * inFeatures * out,
  };
}

/** Softmax over each image's vector. */
export function softmaxKernel(node: { name: string; input: string; output: string }, outShape: Shape): Kernel {
  const c = outShape[2];
  const { wgsl, resources } = bindKernel(SOFTMAX_BINDINGS, {
    input: activations(node.input),
    output: activations(node.output),
  });
  return {
    label: node.name,
    bindings: SOFTMAX_BINDINGS,
    shader: shader('softmax', { wgsl, c }, () => wgsl + specialize('softmax.wgsl', softmax, { C: c })),
    resources,
    workgroups: (batch) => [batch, 1, 1],
    flopsPerImage: 3 * c,
  };
}

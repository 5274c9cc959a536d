import dense from '../../shaders/dense.wgsl';
import softmax from '../../shaders/softmax.wgsl';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import type { DenseNode, Shape, SoftmaxNode } from '../graph/ir.js';
import { ceilDiv, padColumns, type Kernel } from './kernel.js';
import { specialize } from './wgsl.js';
import { COLUMN_ELEMENT, epilogueScales, packColumns, type WeightStorage } from './weight-storage.js';

/** Fully connected layer over a [1, 1, IN] vector per image; weights [IN][OUT] in `storage` (src/ops/weight-storage.ts). */
export function denseKernel(node: DenseNode, inShape: Shape, outShape: Shape, storage: WeightStorage = 'f32'): Kernel {
  const inFeatures = inShape[0] * inShape[1] * inShape[2];
  const out = outShape[2];
  const nv = ceilDiv(out, 4);
  const scaled = storage === 'int8';
  const resources: Kernel['resources'] = [
    [1, { kind: 'tensor', id: node.inputs[0]! }],
    [2, { kind: 'constant', name: `${node.name}/weights${storage === 'f32' ? '' : ` (${storage})`}`, pack: () => packColumns(storage, node, inFeatures, out) }],
    [3, { kind: 'constant', name: `${node.name}/bias`, pack: () => padColumns(node.bias, 1, out) }],
    [4, { kind: 'tensor', id: node.output }],
  ];
  if (scaled) resources.push([5, { kind: 'constant', name: `${node.name}/scale (int8)`, pack: () => epilogueScales(node, inFeatures, out) }]);
  return {
    label: node.name,
    detail: storage === 'f32' ? undefined : `${storage} weights`,
    code: specialize('dense.wgsl', dense, { IN: inFeatures, OUT: out, NV: nv, RELU: node.relu, W_T: COLUMN_ELEMENT[storage], SCALED: scaled }) +
      specialize('weights_vec4.wgsl', weightsVec4, { F16: storage === 'f16', INT8: scaled }),
    resources,
    workgroups: (batch) => [nv, batch, 1],
    flopsPerImage: 2 * inFeatures * out,
  };
}

/** Softmax over each image's vector. */
export function softmaxKernel(node: SoftmaxNode, outShape: Shape): Kernel {
  const c = outShape[2];
  return {
    label: node.name,
    code: specialize('softmax.wgsl', softmax, { C: c }),
    resources: [[1, { kind: 'tensor', id: node.inputs[0]! }], [2, { kind: 'tensor', id: node.output }]],
    workgroups: (batch) => [batch, 1, 1],
    flopsPerImage: 3 * c,
  };
}

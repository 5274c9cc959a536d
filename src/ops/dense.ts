import dense from '../../shaders/dense.wgsl';
import softmax from '../../shaders/softmax.wgsl';
import type { DenseNode, Shape, SoftmaxNode } from '../graph/ir.js';
import { ceilDiv, padColumns, type Kernel } from './kernel.js';
import { specialize } from './wgsl.js';

/** Fully connected layer over a [1, 1, IN] vector per image; weights [IN][OUT]. */
export function denseKernel(node: DenseNode, inShape: Shape, outShape: Shape): Kernel {
  const inFeatures = inShape[0] * inShape[1] * inShape[2];
  const out = outShape[2];
  const nv = ceilDiv(out, 4);
  return {
    label: node.name,
    code: specialize('dense.wgsl', dense, { IN: inFeatures, OUT: out, NV: nv, RELU: node.relu }),
    resources: [
      [1, { kind: 'tensor', id: node.inputs[0]! }],
      [2, { kind: 'constant', name: `${node.name}/weights`, pack: () => padColumns(node.weights, inFeatures, out) }],
      [3, { kind: 'constant', name: `${node.name}/bias`, pack: () => padColumns(node.bias, 1, out) }],
      [4, { kind: 'tensor', id: node.output }],
    ],
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

import addRelu from '../../shaders/add_relu.wgsl';
import type { AddNode, Shape } from '../graph/ir.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE, type Kernel } from './kernel.js';
import { specialize } from './wgsl.js';

/** Elementwise a + b (+ ReLU), for residual adds the planner could not fuse into a conv epilogue. */
export function addReluKernel(node: AddNode, shape: Shape): Kernel {
  const size = shape[0] * shape[1] * shape[2];
  const vec = size % 4 === 0;
  const per = vec ? size / 4 : size;
  return {
    label: node.name,
    code: specialize('add_relu.wgsl', addRelu, { T: vec ? 'vec4<f32>' : 'f32', PER_IMAGE: per, RELU: node.relu, WORKGROUP_SIZE }),
    resources: [
      [0, { kind: 'params' }],
      [1, { kind: 'tensor', id: node.inputs[0]! }],
      [2, { kind: 'tensor', id: node.inputs[1]! }],
      [3, { kind: 'tensor', id: node.output }],
    ],
    workgroups: (batch, max) => elementwiseWorkgroups(batch * per, max),
    flopsPerImage: size * (node.relu ? 2 : 1),
  };
}

import globalAvgPool from '../../shaders/global_avg_pool.wgsl';
import maxpool from '../../shaders/maxpool.wgsl';
import type { GlobalAvgPoolNode, MaxPoolNode, Shape } from '../graph/ir.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE, type Kernel } from './kernel.js';
import { specialize } from './wgsl.js';

export function maxPoolKernel(node: MaxPoolNode, inShape: Shape, outShape: Shape): Kernel {
  const [inH, inW, c] = inShape;
  const [outH, outW] = outShape;
  const vec = c % 4 === 0;
  const cv = vec ? c / 4 : c;
  const code = specialize('maxpool.wgsl', maxpool, {
    T: vec ? 'vec4<f32>' : 'f32', CV: cv, IN_H: inH, IN_W: inW, OUT_H: outH, OUT_W: outW,
    KH: node.size[0], KW: node.size[1], STRIDE_H: node.strides[0], STRIDE_W: node.strides[1],
    PAD_T: node.pads[0], PAD_L: node.pads[1], PAD_ZERO: node.padValue === 'zero', WORKGROUP_SIZE,
  });
  return {
    label: node.name,
    code,
    resources: [[0, { kind: 'params' }], [1, { kind: 'tensor', id: node.inputs[0]! }], [2, { kind: 'tensor', id: node.output }]],
    workgroups: (batch, max) => elementwiseWorkgroups(batch * outH * outW * cv, max),
    flopsPerImage: outH * outW * c * node.size[0] * node.size[1],
  };
}

export function globalAvgPoolKernel(node: GlobalAvgPoolNode, inShape: Shape): Kernel {
  const [h, w, c] = inShape;
  const vec = c % 4 === 0;
  const cv = vec ? c / 4 : c;
  const code = specialize('global_avg_pool.wgsl', globalAvgPool, { T: vec ? 'vec4<f32>' : 'f32', CV: cv, HW: h * w, WORKGROUP_SIZE });
  return {
    label: node.name,
    code,
    resources: [[0, { kind: 'params' }], [1, { kind: 'tensor', id: node.inputs[0]! }], [2, { kind: 'tensor', id: node.output }]],
    workgroups: (batch, max) => elementwiseWorkgroups(batch * cv, max),
    flopsPerImage: h * w * c,
  };
}

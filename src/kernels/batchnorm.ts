/** A standalone BatchNormalization (+ ReLU): shaders/batchnorm.wgsl, its scale and shift folded on the CPU. */
import batchnorm from '../../shaders/batchnorm.wgsl';
import type { Shape } from '../ir/tensor.js';
import { activations, bindKernel, constants, type KernelInterface, params } from './bindings.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';

/** A BatchNormalization as its kernel reads it (src/operators/batchnorm.ts's node is one). */
export interface BatchNormSpec {
  name: string;
  input: string;
  output: string;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
  relu?: boolean;
}

export const BATCHNORM_BINDINGS = {
  params: { binding: 0, kind: 'uniform' },
  input: { binding: 1, kind: 'activations' },
  scale: { binding: 2, kind: 'constants' },
  shift: { binding: 3, kind: 'constants' },
  output: { binding: 4, kind: 'activations' },
} as const satisfies KernelInterface;

/**
 * gamma / sqrt(variance + epsilon) and beta - mean * that, per channel (computed in float64): the BatchNorm as
 * x * scale + shift (this kernel's, a conv's pre-activation, a compact file's affine norms).
 */
export function scaleShift(node: Omit<BatchNormSpec, 'name' | 'input' | 'output'>): {
  scale: Float32Array;
  shift: Float32Array;
} {
  const scale = Float32Array.from(node.gamma, (g, c) => g / Math.sqrt(node.variance[c]! + node.epsilon));
  const shift = Float32Array.from(
    node.beta,
    (b, c) => b - (node.mean[c]! * node.gamma[c]!) / Math.sqrt(node.variance[c]! + node.epsilon),
  );
  return { scale, shift };
}

export function batchNormKernel(node: BatchNormSpec, shape: Shape): Kernel {
  const c = shape[2];
  const vec = c % 4 === 0;
  const t = vec ? 'vec4<f32>' : 'f32';
  const per = (shape[0] * shape[1] * c) / (vec ? 4 : 1);
  const folded = () => scaleShift(node);
  const { wgsl, resources } = bindKernel(BATCHNORM_BINDINGS, {
    params: params(),
    input: activations(node.input, t),
    scale: constants(`${node.name}/scale`, () => folded().scale, t),
    shift: constants(`${node.name}/shift`, () => folded().shift, t),
    output: activations(node.output, t),
  });
  const defines = { T: t, PER_IMAGE: per, CHANNELS: vec ? c / 4 : c, RELU: node.relu ?? false, WORKGROUP_SIZE };
  return {
    label: node.name,
    detail: `batchnorm${node.relu ? ' + relu' : ''}`,
    bindings: BATCHNORM_BINDINGS,
    shader: shader('batchnorm', { wgsl, defines }, () => wgsl + specialize('batchnorm.wgsl', batchnorm, defines)),
    resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * per, max),
    flopsPerImage: 2 * shape[0] * shape[1] * c,
  };
}

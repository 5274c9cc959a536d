/**
 * A squeeze-and-excitation gate (src/operators/squeeze-excite.ts): the channel means of its input
 * (shaders/global_avg_pool.wgsl, into a scratch tensor), then shaders/se_gate.wgsl's two small layers and
 * sigmoid. The gated add (shaders/add_relu.wgsl) applies it.
 */
import seGate from '../../shaders/se_gate.wgsl';
import type { Shape } from '../ir/tensor.js';
import { activations, bindKernel, constants, type KernelInterface } from './bindings.js';
import type { Kernel } from './kernel.js';
import { globalAvgPoolKernel } from './pool.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';

/** A gate as its kernels read it: fc1 [C][RD] then fc2 [RD][C] as `weights`, their biases as `bias`. */
export interface SqueezeExciteSpec {
  name: string;
  input: string;
  output: string;
  weights: Float32Array;
  bias: Float32Array;
  reduced: number;
}

export const SE_GATE_BINDINGS = {
  mean: { binding: 1, kind: 'activations' },
  weights: { binding: 2, kind: 'constants' },
  bias: { binding: 3, kind: 'constants' },
  output: { binding: 4, kind: 'activations' },
} as const satisfies KernelInterface;

const GATE_WG = 64;

export function squeezeExciteKernels(node: SqueezeExciteSpec, inShape: Shape): Kernel[] {
  const c = inShape[2];
  const mean = `${node.name}/mean`;
  const pool: Kernel = {
    ...globalAvgPoolKernel({ name: mean, input: node.input, output: mean }, inShape),
    scratch: [{ id: mean, shape: [1, 1, c] }],
  };
  const { wgsl, resources } = bindKernel(SE_GATE_BINDINGS, {
    mean: activations(mean, 'f32'),
    weights: constants(`${node.name}/weights`, () => node.weights, 'f32'),
    bias: constants(`${node.name}/bias`, () => node.bias, 'f32'),
    output: activations(node.output, 'f32'),
  });
  const defines = { C: c, RD: node.reduced, WG: GATE_WG };
  const gate: Kernel = {
    label: `${node.name}/gate`,
    detail: `${c} -> ${node.reduced} -> ${c} channels, sigmoid`,
    bindings: SE_GATE_BINDINGS,
    shader: shader('se_gate', { wgsl, defines }, () => wgsl + specialize('se_gate.wgsl', seGate, defines)),
    resources,
    workgroups: (batch) => [batch, 1, 1],
    flopsPerImage: 4 * c * node.reduced,
  };
  return [pool, gate];
}

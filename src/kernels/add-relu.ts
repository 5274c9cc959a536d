import addRelu from '../../shaders/add_relu.wgsl';
import type { Shape } from '../ir/tensor.js';
import { elementwiseWorkgroups, WORKGROUP_SIZE } from './dispatch.js';
import type { Kernel } from './kernel.js';
import { activations, bindKernel, params, type KernelInterface } from './bindings.js';
import { shader } from './shader.js';
import { specialize } from './wgsl.js';

/** An add as its kernel reads it (src/operators/add.ts's node is one). */
export interface AddSpec {
  name: string;
  input: string;
  addend: string;
  /** Per-channel factors of `input` ([1, 1, C] per image). */
  gate?: string;
  output: string;
  relu: boolean;
}

export const ADD_RELU_BINDINGS = {
  params: { binding: 0, kind: 'uniform' },
  a: { binding: 1, kind: 'activations' },
  b: { binding: 2, kind: 'activations' },
  output: { binding: 3, kind: 'activations' },
  gate: { binding: 4, kind: 'activations' },
} as const satisfies KernelInterface;

/** Elementwise a (* gate) + b (+ ReLU): residual adds not fused into a conv epilogue, and gated ones. */
export function addReluKernel(node: AddSpec, shape: Shape): Kernel {
  const size = shape[0] * shape[1] * shape[2];
  const vec = node.gate ? shape[2] % 4 === 0 : size % 4 === 0;
  const per = vec ? size / 4 : size;
  const t = vec ? 'vec4<f32>' : 'f32';
  const { wgsl, resources } = bindKernel(ADD_RELU_BINDINGS, {
    params: params(),
    a: activations(node.input, t),
    b: activations(node.addend, t),
    output: activations(node.output, t),
    gate: node.gate ? activations(node.gate, t) : undefined,
  });
  const defines = {
    T: t,
    PER_IMAGE: per,
    CHANNELS: !node.gate ? 1 : vec ? shape[2] / 4 : shape[2], // (read with GATE only)
    GATE: node.gate !== undefined,
    RELU: node.relu,
    WORKGROUP_SIZE,
  };
  return {
    label: node.name,
    bindings: ADD_RELU_BINDINGS,
    shader: shader('add_relu', { wgsl, defines }, () => wgsl + specialize('add_relu.wgsl', addRelu, defines)),
    resources,
    workgroups: (batch, max) => elementwiseWorkgroups(batch * per, max),
    flopsPerImage: size * ((node.relu ? 2 : 1) + (node.gate ? 1 : 0)),
  };
}

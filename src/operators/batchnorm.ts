/**
 * batchnorm: per channel, (x - mean) / sqrt(variance + epsilon) * gamma + beta, then (fused by the passes)
 * an optional ReLU. The passes fold it into the conv or dense layer before it (src/graph/passes.ts); one with
 * none before it (a pre-activation ResNet's, after the residual sum) runs as its own kernel
 * (src/kernels/batchnorm.ts).
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import type { Shape } from '../ir/tensor.js';
import { float } from '../onnx/writer.js';
import { batchNormKernel } from '../kernels/batchnorm.js';
import { type Operator, refTensor } from './operator.js';

export interface BatchNormNode extends NodeBase {
  op: 'batchnorm';
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
  relu?: boolean;
}

export interface BatchNormParams {
  /** Default: ones (Keras' scale: false). */
  gamma?: Float32Array;
  /** Default: zeros (Keras' center: false). */
  beta?: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export function batchNorm(name: string, input: string, p: BatchNormParams): BatchNormNode {
  const c = p.mean.length;
  const gamma = p.gamma ?? new Float32Array(c).fill(1);
  const beta = p.beta ?? new Float32Array(c);
  return {
    op: 'batchnorm',
    name,
    input,
    output: name,
    gamma,
    beta,
    mean: p.mean,
    variance: p.variance,
    epsilon: p.epsilon,
  };
}

function infer(node: BatchNormNode, [shape]: readonly Shape[]): Shape {
  const c = shape![2];
  const params = [
    ['gamma', node.gamma],
    ['beta', node.beta],
    ['moving mean', node.mean],
    ['moving variance', node.variance],
  ] as const;
  for (const [what, v] of params) {
    if (v.length !== c) {
      throw new GraphError(`${node.name}: ${what} holds ${v.length} values, expected ${c} (the input's channels)`);
    }
  }
  const { epsilon, variance } = node;
  if (!(epsilon >= 0)) throw new GraphError(`${node.name}: epsilon ${epsilon} must be >= 0`);
  const c0 = variance.findIndex((v) => !(v + epsilon > 0));
  if (c0 >= 0) {
    const why =
      `moving variance ${variance[c0]} of channel ${c0} plus epsilon ${epsilon} must be > 0 (it divides ` +
      `the input)`;
    throw new GraphError(`${node.name}: ${why}`);
  }
  return [...shape!];
}

export const BATCHNORM: Operator<BatchNormNode> = {
  inputs: ['input'],
  weighted: false,
  infer,
  lower: (node, [shape]) => [batchNormKernel(node, shape!)],
  reference(node, [x]) {
    const out = refTensor(x!.batch, x!.shape);
    const c = x!.shape[2];
    x!.data.forEach((v, i) => {
      const k = i % c;
      const y = ((v - node.mean[k]!) / Math.sqrt(node.variance[k]! + node.epsilon)) * node.gamma[k]! + node.beta[k]!;
      out.data[i] = node.relu ? Math.max(y, 0) : y;
    });
    return out;
  },
  toOnnx(onnx, node) {
    const c = node.gamma.length;
    const input = [
      onnx.name(node.input),
      onnx.param(`${node.name}.weight`, [c], node.gamma),
      onnx.param(`${node.name}.bias`, [c], node.beta),
      onnx.param(`${node.name}.running_mean`, [c], node.mean),
      onnx.param(`${node.name}.running_var`, [c], node.variance),
    ];
    onnx.emit(
      { name: node.name, opType: 'BatchNormalization', input, attribute: [float('epsilon', node.epsilon)] },
      node.output,
      undefined,
      node.relu,
    );
  },
};

/**
 * squeezeexcite: a squeeze-and-excitation block's channel gate (Hu et al. 2018; timm's SEModule): the
 * channel means of the input, a 1x1 conv to RD channels + ReLU, a 1x1 conv back to C channels, sigmoid;
 * [1, 1, C] per image. The gated add (src/operators/add.ts, `gate`) scales the block's branch by it on the
 * way into the residual sum, in the same pass. Kernels: src/kernels/squeeze-excite.ts.
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import type { Shape } from '../ir/tensor.js';
import { squeezeExciteKernels } from '../kernels/squeeze-excite.js';
import { type Operator, refTensor } from './operator.js';

export interface SqueezeExciteNode extends NodeBase {
  op: 'squeezeexcite';
  /** fc1 [C][RD] then fc2 [RD][C] (input-major), as one array. */
  weights: Float32Array;
  /** fc1's RD biases then fc2's C. */
  bias: Float32Array;
  /** RD, the hidden width. */
  reduced: number;
}

export interface SqueezeExciteParams {
  /** [C][RD]: input channel-major. */
  fc1: Float32Array;
  fc1Bias: Float32Array;
  /** [RD][C]. */
  fc2: Float32Array;
  fc2Bias: Float32Array;
}

export function squeezeExcite(name: string, input: string, p: SqueezeExciteParams): SqueezeExciteNode {
  const weights = new Float32Array(p.fc1.length + p.fc2.length);
  weights.set(p.fc1);
  weights.set(p.fc2, p.fc1.length);
  const bias = new Float32Array(p.fc1Bias.length + p.fc2Bias.length);
  bias.set(p.fc1Bias);
  bias.set(p.fc2Bias, p.fc1Bias.length);
  return { op: 'squeezeexcite', name, input, output: name, weights, bias, reduced: p.fc1Bias.length };
}

function infer(node: SqueezeExciteNode, [input]: readonly Shape[]): Shape {
  const c = input![2];
  const rd = node.reduced;
  if (node.weights.length !== 2 * c * rd || node.bias.length !== rd + c)
    throw new GraphError(
      `${node.name}: ${node.weights.length} weights and ${node.bias.length} biases for ${c} channels through ${rd}, ` +
        `expected ${2 * c * rd} and ${rd + c}`,
    );
  return [1, 1, c];
}

export const SQUEEZE_EXCITE: Operator<SqueezeExciteNode> = {
  inputs: ['input'],
  weighted: true,
  infer,
  lower: (node, [inShape]) => squeezeExciteKernels(node, inShape!),
  reference(node, [x]) {
    const [h, w, c] = x!.shape;
    const rd = node.reduced;
    const out = refTensor(x!.batch, [1, 1, c]);
    for (let n = 0; n < x!.batch; n++) {
      const mean = new Float64Array(c);
      for (let p = 0; p < h * w; p++)
        for (let i = 0; i < c; i++) mean[i]! += x!.data[(n * h * w + p) * c + i]! / (h * w);
      const hidden = Array.from({ length: rd }, (_, j) => {
        let s = node.bias[j]!;
        for (let i = 0; i < c; i++) s += mean[i]! * node.weights[i * rd + j]!;
        return Math.max(s, 0);
      });
      for (let i = 0; i < c; i++) {
        let s = node.bias[rd + i]!;
        for (let j = 0; j < rd; j++) s += hidden[j]! * node.weights[c * rd + j * c + i]!;
        out.data[n * c + i] = 1 / (1 + Math.exp(-s));
      }
    }
    return out;
  },
  toOnnx(onnx, node, [input]) {
    const c = input![2];
    const rd = node.reduced;
    // the node holds fc1 [C][RD] and fc2 [RD][C]; ONNX wants [out][in]: [RD][C] and [C][RD]
    const transposed = (from: number, rows: number, cols: number) =>
      Float32Array.from(
        { length: rows * cols },
        (_, i) => node.weights[from + (i % rows) * cols + Math.floor(i / rows)]!,
      );
    const step = (suffix: string) => `${node.output}.${suffix}`;
    onnx.push({ name: step('pool'), opType: 'GlobalAveragePool', input: [onnx.name(node.input)] }, step('mean'));
    const fc1 = [
      onnx.param(`${node.name}.fc1.weight`, [rd, c, 1, 1], transposed(0, c, rd)),
      onnx.param(`${node.name}.fc1.bias`, [rd], node.bias.slice(0, rd)),
    ];
    onnx.push({ name: `${node.name}.fc1`, opType: 'Conv', input: [step('mean'), ...fc1] }, step('fc1'));
    onnx.push({ name: `${node.name}.act`, opType: 'Relu', input: [step('fc1')] }, step('hidden'));
    const fc2 = [
      onnx.param(`${node.name}.fc2.weight`, [c, rd, 1, 1], transposed(c * rd, rd, c)),
      onnx.param(`${node.name}.fc2.bias`, [c], node.bias.slice(rd)),
    ];
    onnx.push({ name: `${node.name}.fc2`, opType: 'Conv', input: [step('hidden'), ...fc2] }, step('fc2'));
    onnx.push({ name: `${node.name}.gate`, opType: 'Sigmoid', input: [step('fc2')] }, node.output);
  },
};

/** dense: the input's values as a vector times weights [in][out], plus a bias, then an optional ReLU (a classifier). */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { type QuantizedWeights, type Shape, shapeSize } from '../ir/tensor.js';
import { type DenseSpec, denseKernel } from '../kernels/dense.js';
import { int } from '../onnx/writer.js';
import { permute, TRANSPOSE } from '../util/layout.js';
import { checkQuantized, type Operator, refTensor } from './operator.js';

export interface DenseNode extends NodeBase, DenseSpec {
  op: 'dense';
}

export interface DenseParams {
  weights: Float32Array;
  bias?: Float32Array;
  units: number;
  relu?: boolean;
  quantized?: QuantizedWeights;
}

export function dense(name: string, input: string, p: DenseParams): DenseNode {
  const bias = p.bias ?? new Float32Array(p.units);
  if (bias.length !== p.units) throw new GraphError(`${name}: bias holds ${bias.length} values, expected ${p.units}`);
  const quantized = p.quantized && { quantized: p.quantized };
  return { op: 'dense', name, input, output: name, weights: p.weights, bias, relu: p.relu ?? false, ...quantized };
}

function infer(node: DenseNode, [shape]: readonly Shape[]): Shape {
  const inFeatures = shapeSize(shape!);
  const units = node.bias.length;
  if (node.weights.length !== inFeatures * units) {
    const expected = `${inFeatures}x${units} for input [${shape!.join(', ')}]`;
    throw new GraphError(`${node.name}: kernel holds ${node.weights.length} values, expected ${expected}`);
  }
  checkQuantized(node.name, node.quantized, node.weights.length, units);
  return [1, 1, units];
}

export const DENSE: Operator<DenseNode> = {
  inputs: ['input'],
  weighted: true,
  infer,
  lower: (node, [inShape], outShape, options) => [denseKernel(node, inShape!, outShape, options.weightStorage)],
  reference(node, [x]) {
    const inF = shapeSize(x!.shape);
    const units = node.bias.length;
    const out = refTensor(x!.batch, [1, 1, units]);
    for (let n = 0; n < x!.batch; n++) {
      for (let j = 0; j < units; j++) {
        let s = node.bias[j]!;
        for (let k = 0; k < inF; k++) s += x!.data[n * inF + k]! * node.weights[k * units + j]!;
        out.data[n * units + j] = node.relu ? Math.max(0, s) : s;
      }
    }
    return out;
  },
  toOnnx(onnx, node) {
    const out = node.bias.length;
    const inF = node.weights.length / out;
    const weights = permute(node.weights, [inF, out], TRANSPOSE); // [in][out] -> [out][in]
    const input = [
      onnx.name(node.input),
      onnx.param(`${node.name}.weight`, [out, inF], weights),
      onnx.param(`${node.name}.bias`, [out], node.bias),
    ];
    onnx.emit(
      { name: node.name, opType: 'Gemm', input, attribute: [int('transB', 1)] },
      node.output,
      undefined,
      node.relu,
    );
  },
};

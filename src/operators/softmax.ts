/** softmax: each image's values as one vector, exponentiated and normalized to sum to 1 (probabilities). */
import type { NodeBase } from '../ir/node.js';
import { shapeSize } from '../ir/tensor.js';
import { softmaxKernel } from '../kernels/dense.js';
import { int } from '../onnx/writer.js';
import { type Operator, refTensor } from './operator.js';

export interface SoftmaxNode extends NodeBase {
  op: 'softmax';
}

export const softmax = (name: string, input: string): SoftmaxNode => ({ op: 'softmax', name, input, output: name });

export const SOFTMAX: Operator<SoftmaxNode> = {
  inputs: ['input'],
  weighted: false,
  infer: (_node, [shape]) => [1, 1, shapeSize(shape!)],
  lower: (node, _inputs, outShape) => [softmaxKernel(node, outShape)],
  reference(_node, [x]) {
    const c = shapeSize(x!.shape);
    const out = refTensor(x!.batch, [1, 1, c]);
    for (let n = 0; n < x!.batch; n++) {
      const row = x!.data.subarray(n * c, (n + 1) * c);
      const m = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - m), 0);
      for (const [i, v] of row.entries()) out.data[n * c + i] = Math.exp(v - m) / sum;
    }
    return out;
  },
  toOnnx(onnx, node) {
    const spec = { name: node.name, opType: 'Softmax', input: [onnx.name(node.input)], attribute: [int('axis', -1)] };
    onnx.push(spec, node.output);
  },
};

/** relu: max(x, 0); the passes fuse it into the conv, dense layer or add before it. */
import type { NodeBase } from '../ir/node.js';
import { mustFuse, type Operator, refTensor } from './operator.js';

export interface ReluNode extends NodeBase {
  op: 'relu';
}

export const relu = (name: string, input: string): ReluNode => ({ op: 'relu', name, input, output: name });

export const RELU: Operator<ReluNode> = {
  inputs: ['input'],
  weighted: false,
  infer: (_node, [shape]) => [...shape!],
  lower: (node) => mustFuse(node, 'follow a conv, dense, add or batchnorm'),
  reference(_node, [x]) {
    const out = refTensor(x!.batch, x!.shape);
    for (const [i, v] of x!.data.entries()) out.data[i] = Math.max(v, 0);
    return out;
  },
  toOnnx: (onnx, node) => onnx.push({ name: node.name, opType: 'Relu', input: [onnx.name(node.input)] }, node.output),
};

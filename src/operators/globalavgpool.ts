/** globalavgpool: each channel's mean over the image, [1, 1, C] (a classifier's features). */
import type { NodeBase } from '../ir/node.js';
import { globalAvgPoolKernel } from '../kernels/pool.js';
import { int } from '../onnx/writer.js';
import { type Operator, refTensor } from './operator.js';

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalavgpool';
}

export const globalAvgPool = (name: string, input: string): GlobalAvgPoolNode => ({
  op: 'globalavgpool',
  name,
  input,
  output: name,
});

export const GLOBALAVGPOOL: Operator<GlobalAvgPoolNode> = {
  inputs: ['input'],
  weighted: false,
  infer: (_node, [shape]) => [1, 1, shape![2]],
  lower: (node, [inShape]) => [globalAvgPoolKernel(node, inShape!)],
  reference(_node, [x]) {
    const [h, w, c] = x!.shape;
    const out = refTensor(x!.batch, [1, 1, c]);
    for (const [i, v] of x!.data.entries()) out.data[Math.floor(i / (h * w * c)) * c + (i % c)]! += v / (h * w);
    return out;
  },
  toOnnx(onnx, node) {
    onnx.push({ name: node.name, opType: 'GlobalAveragePool', input: [onnx.name(node.input)] }, `${node.output}.4d`);
    const flatten = {
      name: `${node.name}.flatten`,
      opType: 'Flatten',
      input: [`${node.output}.4d`],
      attribute: [int('axis', 1)],
    };
    onnx.push(flatten, node.output);
  },
};

/**
 * add: two tensors of one shape summed, then an optional ReLU. A residual block's add is fused into the
 * conv before it (its epilogue reads the shortcut: src/graph/passes.ts); one left alone runs as its own
 * kernel (shaders/add_relu.wgsl).
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { addReluKernel } from '../kernels/add-relu.js';
import { type Operator, refTensor } from './operator.js';

export interface AddNode extends NodeBase {
  op: 'add';
  /** The tensor added to `input`. */
  addend: string;
  relu: boolean;
}

export const add = (name: string, input: string, addend: string, relu = false): AddNode => ({
  op: 'add',
  name,
  input,
  addend,
  output: name,
  relu,
});

export const ADD: Operator<AddNode> = {
  inputs: ['input', 'addend'],
  weighted: false,
  infer(node, [a, b]) {
    if (a!.join() !== b!.join())
      throw new GraphError(`${node.name}: cannot add [${a}] (${node.input}) and [${b}] (${node.addend})`);
    return [...a!];
  },
  lower: (node, _inputs, shape) => [addReluKernel(node, shape)],
  reference(node, [a, b]) {
    const out = refTensor(a!.batch, a!.shape);
    a!.data.forEach((v, i) => {
      const s = v + b!.data[i]!;
      out.data[i] = node.relu ? Math.max(s, 0) : s;
    });
    return out;
  },
  toOnnx(onnx, node) {
    const input = [onnx.name(node.input), onnx.name(node.addend)];
    onnx.emit({ name: node.name, opType: 'Add', input }, node.output, undefined, node.relu);
  },
};

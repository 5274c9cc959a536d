/**
 * add: two tensors of one shape summed, then an optional ReLU; with a `gate` ([1, 1, C], a squeeze-and-
 * excitation block's channel gate: src/operators/squeeze-excite.ts) the input is scaled per channel first,
 * input * gate + addend, in the same pass. A residual block's plain add is fused into the conv before it (its
 * epilogue reads the shortcut: src/graph/passes.ts); one left alone, or gated, runs as its own kernel
 * (shaders/add_relu.wgsl).
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { addReluKernel } from '../kernels/add-relu.js';
import { type Operator, refTensor } from './operator.js';

export interface AddNode extends NodeBase {
  op: 'add';
  /** The tensor added to `input`. */
  addend: string;
  /** A per-channel factor of `input` ([1, 1, C] per image), applied before the sum. */
  gate?: string;
  relu: boolean;
}

export const add = (name: string, input: string, addend: string, relu = false, gate?: string): AddNode => ({
  op: 'add',
  name,
  input,
  addend,
  ...(gate !== undefined && { gate }),
  output: name,
  relu,
});

export const ADD: Operator<AddNode> = {
  inputs: ['input', 'addend', 'gate'],
  weighted: false,
  infer(node, [a, b, gate]) {
    if (a!.join() !== b!.join())
      throw new GraphError(`${node.name}: cannot add [${a}] (${node.input}) and [${b}] (${node.addend})`);
    if (gate && gate.join() !== [1, 1, a![2]].join())
      throw new GraphError(`${node.name}: the gate [${gate}] (${node.gate}) is not one factor per channel of [${a}]`);
    return [...a!];
  },
  lower: (node, [shape]) => [addReluKernel(node, shape!)],
  reference(node, [a, b, gate]) {
    const out = refTensor(a!.batch, a!.shape);
    const c = a!.shape[2];
    const perImage = a!.shape[0] * a!.shape[1] * c;
    a!.data.forEach((v, i) => {
      const factor = gate ? gate.data[Math.floor(i / perImage) * c + (i % c)]! : 1;
      const s = v * factor + b!.data[i]!;
      out.data[i] = node.relu ? Math.max(s, 0) : s;
    });
    return out;
  },
  toOnnx(onnx, node) {
    let input = onnx.name(node.input);
    if (node.gate) {
      input = `${node.output}.gated`;
      onnx.push(
        { name: `${node.name}.gate`, opType: 'Mul', input: [onnx.name(node.input), onnx.name(node.gate)] },
        input,
      );
    }
    onnx.emit(
      { name: node.name, opType: 'Add', input: [input, onnx.name(node.addend)] },
      node.output,
      undefined,
      node.relu,
    );
  },
};

/** pad: zeros around the height and width (Keras' ZeroPadding2D); the passes fold it into the next conv or max pool. */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import type { Pads, RefTensor } from '../ir/tensor.js';
import { mustFuse, type Operator, refTensor } from './operator.js';

export interface PadNode extends NodeBase {
  op: 'pad';
  pads: Pads;
}

export const pad = (name: string, input: string, pads: Pads): PadNode => ({
  op: 'pad',
  name,
  input,
  output: name,
  pads,
});

export const PAD: Operator<PadNode> = {
  inputs: ['input'],
  weighted: false,
  infer(node, [input]) {
    const [h, w, c] = input!;
    const { pads } = node;
    if (pads.some((p) => !(Number.isInteger(p) && p >= 0))) {
      throw new GraphError(`${node.name}: padding [${pads}] must be non-negative integers`);
    }
    return [h + pads[0] + pads[2], w + pads[1] + pads[3], c];
  },
  lower: (node) => mustFuse(node, 'precede a conv or max pool'),
  reference(node, [x]): RefTensor {
    const [h, w, c] = x!.shape;
    const out = refTensor(x!.batch, PAD.infer(node, [x!.shape]));
    const [oh, ow] = out.shape;
    const [top, left] = node.pads;
    for (let n = 0; n < x!.batch; n++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const from = ((n * h + y) * w + xx) * c;
          out.data.set(x!.data.subarray(from, from + c), ((n * oh + y + top) * ow + xx + left) * c);
        }
      }
    }
    return out;
  },
  toOnnx: (onnx, node) => void onnx.pad(node.name, onnx.name(node.input), node.output, node.pads),
};

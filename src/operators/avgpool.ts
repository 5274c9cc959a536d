/**
 * avgpool: the mean of each window, as PyTorch's AvgPool2d computes it (the average-pool shortcut of
 * ResNet-D: 2x2 stride 2, ceil_mode, count_include_pad false): with `ceilMode` the output rounds up (a last
 * window that starts inside the padded input), and the divisor is the window clipped to the padded input
 * (`countIncludePad`) or the pixels of it inside the input.
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { type Pads, poolOutSize, type RefTensor, refAt, type Shape } from '../ir/tensor.js';
import { type AvgPoolSpec, avgPoolKernel } from '../kernels/pool.js';
import { int, ints } from '../onnx/writer.js';
import { type Operator, refTensor } from './operator.js';

export interface AvgPoolNode extends NodeBase, AvgPoolSpec {
  op: 'avgpool';
  ceilMode: boolean;
}

export interface AvgPoolParams {
  size: [number, number];
  strides: [number, number];
  pads?: Pads;
  ceilMode?: boolean;
  /** Default true (PyTorch's default; ONNX's is false, which its loader passes). */
  countIncludePad?: boolean;
}

export const avgPool = (name: string, input: string, p: AvgPoolParams): AvgPoolNode => ({
  op: 'avgpool',
  name,
  input,
  output: name,
  size: p.size,
  strides: p.strides,
  pads: p.pads ?? [0, 0, 0, 0],
  ceilMode: p.ceilMode ?? false,
  countIncludePad: p.countIncludePad ?? true,
});

function infer(node: AvgPoolNode, [input]: readonly Shape[]): Shape {
  const [h, w, c] = input!;
  const { pads, size, strides } = node;
  if (Math.max(pads[0], pads[2]) * 2 > size[0] || Math.max(pads[1], pads[3]) * 2 > size[1]) {
    throw new GraphError(`${node.name}: padding [${pads}] must be at most half the pool size [${size}]`);
  }
  if (!(strides[0] > 0 && strides[1] > 0)) throw new GraphError(`${node.name}: strides [${strides}] must be positive`);
  const outH = poolOutSize(h, size[0], strides[0], pads[0], pads[2], node.ceilMode);
  const outW = poolOutSize(w, size[1], strides[1], pads[1], pads[3], node.ceilMode);
  return [outH, outW, c];
}

/** One output value: the window's sum over the pixels inside the input, and the divisor. */
function windowMean(node: AvgPoolNode, x: RefTensor, n: number, oy: number, ox: number, k: number): number {
  const [h, w] = x.shape;
  const [pt, pl, pb, pr] = node.pads;
  const [y0, x0] = [oy * node.strides[0] - pt, ox * node.strides[1] - pl];
  const [y1, x1] = [Math.min(y0 + node.size[0], h + pb), Math.min(x0 + node.size[1], w + pr)];
  const [ya, xa, yb, xb] = [Math.max(y0, 0), Math.max(x0, 0), Math.min(y1, h), Math.min(x1, w)];
  let sum = 0;
  for (let iy = ya; iy < yb; iy++) for (let ix = xa; ix < xb; ix++) sum += refAt(x, n, iy, ix, k);
  return sum / (node.countIncludePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa));
}

export const AVGPOOL: Operator<AvgPoolNode> = {
  inputs: ['input'],
  weighted: false,
  infer,
  lower: (node, [inShape], outShape) => [avgPoolKernel(node, inShape!, outShape)],
  reference(node, [x]) {
    const out = refTensor(x!.batch, infer(node, [x!.shape]));
    const [oh, ow, c] = out.shape;
    let o = 0;
    for (let n = 0; n < x!.batch; n++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) for (let k = 0; k < c; k++) out.data[o++] = windowMean(node, x!, n, oy, ox, k);
      }
    }
    return out;
  },
  toOnnx(onnx, node) {
    const attribute = [
      ints('kernel_shape', node.size),
      ints('strides', node.strides),
      ints('pads', node.pads),
      int('ceil_mode', node.ceilMode ? 1 : 0),
      int('count_include_pad', node.countIncludePad ? 1 : 0),
    ];
    onnx.push({ name: node.name, opType: 'AveragePool', input: [onnx.name(node.input)], attribute }, node.output);
  },
};

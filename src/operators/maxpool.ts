/**
 * maxpool: the largest value of each window; padded positions hold 0 (Keras' padding folded in) or nothing
 * (PyTorch). `ceilMode` (PyTorch's ceil_mode, with nothing in the padding: timm's legacy SENet stem) rounds the
 * output size up, its last window partly past the input.
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { type Pads, poolOutSize, refAt, type Shape } from '../ir/tensor.js';
import { type MaxPoolSpec, maxPoolKernel } from '../kernels/pool.js';
import { int, ints } from '../onnx/writer.js';
import { type Operator, refTensor } from './operator.js';

export interface MaxPoolNode extends NodeBase, MaxPoolSpec {
  op: 'maxpool';
  ceilMode?: boolean;
}

export interface MaxPoolParams {
  size: [number, number];
  strides: [number, number];
  pads?: Pads;
  padValue?: 'zero' | 'ignore';
  ceilMode?: boolean;
}

export const maxPool = (name: string, input: string, p: MaxPoolParams): MaxPoolNode => ({
  op: 'maxpool',
  name,
  input,
  output: name,
  size: p.size,
  strides: p.strides,
  pads: p.pads ?? [0, 0, 0, 0],
  padValue: p.padValue ?? 'ignore',
  ...(p.ceilMode && { ceilMode: true }),
});

function infer(node: MaxPoolNode, [input]: readonly Shape[]): Shape {
  const [h, w, c] = input!;
  const { pads, size, strides } = node;
  if (Math.max(pads[0], pads[2]) >= size[0] || Math.max(pads[1], pads[3]) >= size[1]) {
    throw new GraphError(`${node.name}: padding [${pads}] must be smaller than the pool size [${size}]`);
  }
  const ceil = node.ceilMode === true;
  if (ceil && node.padValue === 'zero')
    throw new GraphError(`${node.name}: ceil mode counts positions past the input, which zero padding would fill`);
  return [
    poolOutSize(h, size[0], strides[0], pads[0], pads[2], ceil),
    poolOutSize(w, size[1], strides[1], pads[1], pads[3], ceil),
    c,
  ];
}

export const MAXPOOL: Operator<MaxPoolNode> = {
  inputs: ['input'],
  weighted: false,
  infer,
  lower: (node, [inShape], outShape) => [maxPoolKernel(node, inShape!, outShape)],
  reference(node, [x]) {
    const [h, w, c] = x!.shape;
    const out = refTensor(x!.batch, infer(node, [x!.shape]));
    const [oh, ow] = out.shape;
    let o = 0;
    for (let n = 0; n < x!.batch; n++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          for (let k = 0; k < c; k++) {
            let m = -Infinity;
            for (let ky = 0; ky < node.size[0]; ky++) {
              for (let kx = 0; kx < node.size[1]; kx++) {
                const iy = oy * node.strides[0] - node.pads[0] + ky;
                const ix = ox * node.strides[1] - node.pads[1] + kx;
                const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                if (inside) m = Math.max(m, refAt(x!, n, iy, ix, k));
                else if (node.padValue === 'zero') m = Math.max(m, 0);
              }
            }
            out.data[o++] = m;
          }
        }
      }
    }
    return out;
  },
  toOnnx(onnx, node) {
    let x = onnx.name(node.input);
    let pads = node.pads;
    if (node.padValue === 'zero' && pads.some((p) => p > 0)) {
      x = onnx.pad(`${node.name}.pad`, x, `${node.output}.padded`, pads);
      pads = [0, 0, 0, 0];
    }
    const attribute = [ints('kernel_shape', node.size), ints('strides', node.strides), ints('pads', pads)];
    if (node.ceilMode) attribute.push(int('ceil_mode', 1));
    onnx.push({ name: node.name, opType: 'MaxPool', input: [x], attribute }, node.output);
  },
};

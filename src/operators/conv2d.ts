/**
 * conv2d: NHWC input, HWIO weights [kh][kw][cin][cout], a bias, then (after the passes fuse them) a
 * residual tensor added and a ReLU. Lowered to the conv kernels (src/kernels/conv.ts) as
 * src/operators/conv-algorithm.ts decides.
 */
import { GraphError } from '../errors.js';
import type { NodeBase } from '../ir/node.js';
import { outSize, type Pads, type QuantizedWeights, type RefTensor, type Shape } from '../ir/tensor.js';
import { convKernels } from '../kernels/conv.js';
import { CONV_INPUTS, type ConvSpec } from '../kernels/conv-types.js';
import { float, int, ints, type OnnxWriter } from '../onnx/writer.js';
import { HWIO_TO_OIHW, permute } from '../util/layout.js';
import { chooseConvAlgorithm } from './conv-algorithm.js';
import { checkQuantized, type Operator, refTensor } from './operator.js';

export interface Conv2dNode extends NodeBase, ConvSpec {
  op: 'conv2d';
}

export interface Conv2dParams {
  weights: Float32Array;
  bias?: Float32Array;
  kernel: [number, number];
  filters: number;
  strides?: [number, number];
  pads?: Pads;
  relu?: boolean;
  quantized?: QuantizedWeights;
  /** Channel groups (ResNeXt); weights then [kh][kw][cin / groups][filters]. */
  groups?: number;
}

/** A conv node (bias zeros, stride 1, no padding, no ReLU unless given). */
export function conv2d(name: string, input: string, p: Conv2dParams): Conv2dNode {
  const bias = p.bias ?? new Float32Array(p.filters);
  if (bias.length !== p.filters)
    throw new GraphError(`${name}: bias holds ${bias.length} values, expected ${p.filters}`);
  return {
    op: 'conv2d',
    name,
    input,
    output: name,
    kernel: p.kernel,
    strides: p.strides ?? [1, 1],
    pads: p.pads ?? [0, 0, 0, 0],
    weights: p.weights,
    bias,
    relu: p.relu ?? false,
    ...(p.groups !== undefined && p.groups !== 1 && { groups: p.groups }),
    ...(p.quantized && { quantized: p.quantized }),
  };
}

function infer(node: Conv2dNode, [input, residual]: readonly Shape[]): Shape {
  const [h, w, cin] = input!;
  const [kh, kw] = node.kernel;
  const cout = node.bias.length;
  const groups = node.groups ?? 1;
  if (!(Number.isInteger(groups) && groups >= 1 && cin % groups === 0 && cout % groups === 0))
    throw new GraphError(`${node.name}: ${groups} groups do not divide ${cin} input and ${cout} output channels`);
  const count = (kh * kw * cin * cout) / groups;
  if (node.weights.length !== count) {
    const expected = `${kh}x${kw}x${cin / groups}x${cout} = ${count} for input [${h}, ${w}, ${cin}]`;
    throw new GraphError(`${node.name}: kernel holds ${node.weights.length} values, expected ${expected}`);
  }
  checkQuantized(node.name, node.quantized, count, cout);
  const pre = node.preact;
  if (pre && (pre.scale.length !== cin || pre.shift.length !== cin || cin % 4 !== 0))
    throw new GraphError(
      `${node.name}: the pre-activation holds ${pre.scale.length} scales and ${pre.shift.length} shifts for ${cin} ` +
        `input channels (it needs one each per channel, channels a multiple of 4)`,
    );
  const [sh, sw] = node.strides;
  const shape: Shape = [
    outSize(h, kh, sh, node.pads[0], node.pads[2]),
    outSize(w, kw, sw, node.pads[1], node.pads[3]),
    cout,
  ];
  if (residual && residual.join() !== shape.join()) {
    throw new GraphError(`${node.name}: the residual [${residual}] is not the output's shape [${shape}]`);
  }
  return shape;
}

/** The input through the conv's pre-activation (x * scale + shift per channel, ReLU), where it has one. */
function preactivated(node: Conv2dNode, x: RefTensor): RefTensor {
  const pre = node.preact;
  if (!pre) return x;
  const c = x.shape[2];
  const data = x.data.map((v, i) => {
    const y = v * pre.scale[i % c]! + pre.shift[i % c]!;
    return pre.relu ? Math.max(y, 0) : y;
  });
  return { ...x, data };
}

function reference(node: Conv2dNode, [given, residual]: readonly RefTensor[]): RefTensor {
  const x = preactivated(node, given!);
  const [h, w, cin] = x.shape;
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.strides;
  const [pt, pl] = node.pads;
  const cout = node.bias.length;
  const cing = cin / (node.groups ?? 1);
  const out = refTensor(x.batch, infer(node, [x.shape]));
  const [oh, ow] = out.shape;
  for (let n = 0; n < x.batch; n++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < cout; co++) {
          let s = node.bias[co]!;
          const first = Math.floor(co / (cout / (cin / cing))) * cing; // the group's first input channel
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx;
              if (ix < 0 || ix >= w) continue;
              const xb = ((n * h + iy) * w + ix) * cin + first;
              const wb = (ky * kw + kx) * cing * cout + co;
              for (let ci = 0; ci < cing; ci++) s += x.data[xb + ci]! * node.weights[wb + ci * cout]!;
            }
          }
          const o = ((n * oh + oy) * ow + ox) * cout + co;
          if (residual) s += residual.data[o]!;
          out.data[o] = node.relu ? Math.max(s, 0) : s;
        }
      }
    }
  }
  return out;
}

/** The conv's ONNX input: its input, or its pre-activation as a BatchNormalization (+ Relu) of it. */
function preactOnnx(onnx: OnnxWriter, node: Conv2dNode): string {
  const pre = node.preact;
  if (!pre) return onnx.name(node.input);
  const c = pre.scale.length;
  const name = `${node.name}.preact`;
  const input = [
    onnx.name(node.input),
    onnx.param(`${name}.weight`, [c], pre.scale),
    onnx.param(`${name}.bias`, [c], pre.shift),
    onnx.param(`${name}.running_mean`, [c], new Float32Array(c)),
    onnx.param(`${name}.running_var`, [c], new Float32Array(c).fill(1)),
  ];
  const bn = { name, opType: 'BatchNormalization', input, attribute: [float('epsilon', 0)] };
  onnx.emit(bn, name, undefined, pre.relu);
  return name;
}

export const CONV2D: Operator<Conv2dNode> = {
  inputs: CONV_INPUTS,
  weighted: true,
  infer,
  lower(node, [inShape], outShape, options) {
    const {
      weightStorage = options.weightStorage,
      gemmShader = options.gemmShader,
      ...pinned
    } = options.conv?.[node.name] ?? {};
    const { convStrategy, subgroupSize, simdStem, winograd, batch, policy } = options;
    const lowering = { convStrategy, subgroupSize, simdStem, winograd };
    const context = { lowering, batch, policy, storage: weightStorage };
    const algorithm = chooseConvAlgorithm(node, inShape!, outShape, context, pinned);
    return convKernels(node, inShape!, outShape, algorithm, { weightStorage, gemmShader });
  },
  reference,
  toOnnx(onnx, node, [input]) {
    const groups = node.groups ?? 1;
    const cing = input![2] / groups;
    const cout = node.bias.length;
    const [kh, kw] = node.kernel;
    const weights = permute(node.weights, [kh, kw, cing, cout], HWIO_TO_OIHW);
    const args = [preactOnnx(onnx, node), onnx.param(`${node.name}.weight`, [cout, cing, kh, kw], weights)];
    if (node.bias.some((v) => v !== 0)) args.push(onnx.param(`${node.name}.bias`, [cout], node.bias));
    const attribute = [ints('kernel_shape', node.kernel), ints('strides', node.strides), ints('pads', node.pads)];
    if (groups > 1) attribute.push(int('group', groups));
    const residual = node.residual && onnx.name(node.residual);
    onnx.emit({ name: node.name, opType: 'Conv', input: args, attribute }, node.output, residual, node.relu);
  },
};

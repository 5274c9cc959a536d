/**
 * The ONNX operators the loader reads, one handler each: a handler gets the node (its attributes, its
 * activation and constant inputs, through `OnnxNodeContext`) and adds its op to the graph builder,
 * returning the tensor its output becomes. Anything else is an error naming the node.
 */
import { type Pads, samePadding } from '../ir/tensor.js';
import * as op from '../operators/index.js';
import type { DenseNode } from '../operators/index.js';
import type { OnnxNodeContext } from './onnx-context.js';
import { OIHW_TO_HWIO, permute, TRANSPOSE } from '../util/layout.js';
import { gatedAdd, mul, sigmoid } from './onnx-gates.js';

type Handler = (c: OnnxNodeContext) => string;

function conv(c: OnnxNodeContext): string {
  c.allowOnly(['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad']);
  const x = c.act(0);
  const [h, w, cin] = c.g.b.shape(x);
  const W = c.constant(1, 'the weight');
  if (W.dims.length !== 4) c.fail(`weight ${c.node.input[1]} has shape [${W.dims}], expected [O, I, kH, kW]`);
  const [o, i, kh, kw] = W.dims as [number, number, number, number];
  const groups = c.int('group', 1);
  if (!(groups >= 1 && cin % groups === 0 && o % groups === 0))
    c.fail(`group ${groups} does not divide the ${cin} input and ${o} output channels`);
  if (c.ints('dilations', [1, 1]).some((d) => d !== 1))
    c.fail(`dilations ${c.ints('dilations', [])} are not supported`);
  if (groups > 1 && (o / groups) % 4 !== 0)
    c.fail(
      `group ${groups}: ${o / groups} output channels per group; grouped convs need a multiple of 4 (not depthwise)`,
    );
  if (i * groups !== cin) c.fail(`weight has ${i} input channels per group (${groups} groups), the input has ${cin}`);
  const strides = c.ints('strides', [1, 1]) as [number, number];
  const autoPad = c.str('auto_pad', 'NOTSET');
  let pads: Pads;
  if (autoPad === 'NOTSET') {
    const p = c.ints('pads', [0, 0, 0, 0]);
    pads = [p[0]!, p[1]!, p[2]!, p[3]!];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const [t, bt] = samePadding(h, kh, strides[0]),
      [l, r] = samePadding(w, kw, strides[1]);
    pads = autoPad === 'SAME_UPPER' ? [t, l, bt, r] : [bt, r, t, l];
  } else return c.fail(`auto_pad ${autoPad} is not supported`);
  const bias = c.node.input[2] ? (c.constant(2, 'the bias').data as Float32Array) : undefined;
  return c.g.b.add(
    op.conv2d(c.name, x, {
      weights: permute(W.data as Float32Array, [o, i, kh, kw], OIHW_TO_HWIO),
      bias,
      kernel: [kh, kw],
      filters: o,
      strides,
      pads,
      groups,
    }),
  );
}

function batchNormalization(c: OnnxNodeContext): string {
  c.allowOnly(['epsilon', 'momentum', 'training_mode', 'spatial']);
  if (c.int('training_mode', 0) !== 0) c.fail('training_mode 1 is not supported (inference only)');
  return c.g.b.add(
    op.batchNorm(c.name, c.act(0), {
      gamma: c.constant(1, 'scale').data as Float32Array,
      beta: c.constant(2, 'B').data as Float32Array,
      mean: c.constant(3, 'input_mean').data as Float32Array,
      variance: c.constant(4, 'input_var').data as Float32Array,
      epsilon: c.float('epsilon', 1e-5),
    }),
  );
}

function add(c: OnnxNodeContext): string {
  const gated = gatedAdd(c);
  if (gated) return gated;
  const [a0, a1] = c.node.input;
  const { tensor, init, denseOf, b } = c.g;
  if (tensor.has(a0!) && tensor.has(a1!)) return b.add(op.add(c.name, c.act(0), c.act(1)));
  // MatMul + Add(bias): the bias joins the dense layer
  const x = tensor.get(a0!) ?? tensor.get(a1!);
  const bias = init.get(a0!) ?? init.get(a1!);
  const dense = x ? denseOf.get(x) : undefined;
  if (!dense || !bias || bias.data.length !== dense.bias.length)
    c.fail('adding a constant is only supported as the bias of a MatMul');
  dense.bias = Float32Array.from(bias.data as Float32Array, (v, j) => v + dense.bias[j]!);
  return x!;
}

/** Zero padding of H and W (as an exporter writes Keras' ZeroPadding2D): pads from the input (opset >= 11) or the
 * attribute. */
function pad(c: OnnxNodeContext): string {
  c.allowOnly(['mode', 'pads', 'value']);
  const x = c.act(0);
  if (c.str('mode', 'constant') !== 'constant')
    c.fail(`mode ${c.str('mode', '')} is not supported (only constant zero padding)`);
  const p = c.node.input[1] ? Array.from(c.constant(1, 'the pads').data, Number) : c.ints('pads', []);
  const value = c.node.input[2] ? c.constant(2, 'the padding value').data[0] : c.float('value', 0);
  if (p.length !== 8 || p[0] || p[1] || p[4] || p[5] || value !== 0)
    c.fail(`only zero padding of height and width is supported (pads [${p}], value ${value})`);
  return c.g.b.add(op.pad(c.name, x, [p[2]!, p[3]!, p[6]!, p[7]!]));
}

/** A pool's window (MaxPool, AveragePool): kernel_shape, strides, explicit pads (no auto_pad) and ceil_mode. */
function poolWindow(c: OnnxNodeContext) {
  if (c.str('auto_pad', 'NOTSET') !== 'NOTSET') c.fail(`auto_pad ${c.str('auto_pad', '')} is not supported`);
  const p = c.ints('pads', [0, 0, 0, 0]);
  return {
    size: c.ints('kernel_shape', []) as [number, number],
    strides: c.ints('strides', [1, 1]) as [number, number],
    pads: [p[0]!, p[1]!, p[2]!, p[3]!] as Pads,
    ceilMode: c.int('ceil_mode', 0) === 1,
  };
}

function maxPool(c: OnnxNodeContext): string {
  c.allowOnly(['kernel_shape', 'strides', 'pads', 'ceil_mode', 'dilations', 'storage_order', 'auto_pad']);
  if (c.ints('dilations', [1, 1]).some((d) => d !== 1)) c.fail('dilations are not supported');
  return c.g.b.add(op.maxPool(c.name, c.act(0), { ...poolWindow(c), padValue: 'ignore' }));
}

/** AveragePool (ONNX's count_include_pad defaults to 0; PyTorch exports write it). */
function averagePool(c: OnnxNodeContext): string {
  c.allowOnly(['kernel_shape', 'strides', 'pads', 'ceil_mode', 'count_include_pad', 'auto_pad']);
  const countIncludePad = c.int('count_include_pad', 0) === 1;
  return c.g.b.add(op.avgPool(c.name, c.act(0), { ...poolWindow(c), countIncludePad }));
}

function reduceMean(c: OnnxNodeContext): string {
  const axes = c.node.input[1] ? (c.constant(1, 'axes').data as number[]) : c.ints('axes', []);
  if ([...axes].sort().join() !== '2,3') c.fail(`only a mean over H and W (axes [2, 3]) is supported, not [${axes}]`);
  return c.g.b.add(op.globalAvgPool(c.name, c.act(0)));
}

/** Flatten / Reshape of [N, C, 1, 1] to [N, C], Identity, Dropout: the tensor as it is. */
function passThrough(c: OnnxNodeContext): string {
  const x = c.act(0);
  const [h, w, ch] = c.g.b.shape(x);
  if (c.node.opType === 'Flatten' && (c.int('axis', 1) !== 1 || h * w !== 1))
    c.fail('only flattening [N, C, 1, 1] to [N, C] is supported');
  if (c.node.opType === 'Reshape') {
    const target = c.constant(1, 'the shape').data as number[];
    if (target.length !== 2 || h * w !== 1 || (target[1] !== ch && target[1] !== -1))
      c.fail(`only reshaping [N, C, 1, 1] to [N, C] is supported, not to [${target}]`);
  }
  return x;
}

/** Gemm or MatMul on [N, C]: a dense layer (a MatMul's bias comes in a following Add). */
function dense(c: OnnxNodeContext): string {
  const x = c.act(0);
  const [h, w, ch] = c.g.b.shape(x);
  if (h * w !== 1) c.fail('input must be [N, C] (after pooling and flattening)');
  const W = c.constant(1, 'B');
  let transB = false;
  if (c.node.opType === 'Gemm') {
    c.allowOnly(['alpha', 'beta', 'transA', 'transB']);
    if (c.int('transA', 0) !== 0 || c.float('alpha', 1) !== 1 || c.float('beta', 1) !== 1)
      c.fail('only transA = 0, alpha = beta = 1 are supported');
    transB = c.int('transB', 0) === 1;
  }
  const units = transB ? W.dims[0]! : W.dims[1]!;
  if (W.data.length !== units * ch) c.fail(`B has shape [${W.dims}], input has ${ch} features`);
  const weights = transB ? permute(W.data as Float32Array, [units, ch], TRANSPOSE) : (W.data as Float32Array);
  const bias = c.node.opType === 'Gemm' && c.node.input[2] ? (c.constant(2, 'C').data as Float32Array) : undefined;
  const out = c.g.b.add(op.dense(c.name, x, { weights, bias, units }));
  c.g.denseOf.set(out, c.g.b.nodes[c.g.b.nodes.length - 1] as DenseNode);
  return out;
}

function softmax(c: OnnxNodeContext): string {
  const axis = c.int('axis', c.g.opset >= 13 ? -1 : 1);
  if (axis !== -1 && axis !== 1) c.fail(`softmax over axis ${axis} is not supported`);
  return c.g.b.add(op.softmax(c.name, c.act(0)));
}

export const ONNX_OPS: Record<string, Handler> = {
  Conv: conv,
  BatchNormalization: batchNormalization,
  Relu: (c) => c.g.b.add(op.relu(c.name, c.act(0))),
  Sigmoid: sigmoid,
  Mul: mul,
  Add: add,
  Pad: pad,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: (c) => c.g.b.add(op.globalAvgPool(c.name, c.act(0))),
  ReduceMean: reduceMean,
  Flatten: passThrough,
  Reshape: passThrough,
  Identity: passThrough,
  Dropout: passThrough,
  Gemm: dense,
  MatMul: dense,
  Softmax: softmax,
};

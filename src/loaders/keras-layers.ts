/**
 * The Keras layer classes the TF.js layers loader reads, one handler each: a handler gets the layer (its
 * config, its inputs, its weights, through `KerasLayerContext`) and adds its ops to the graph builder,
 * returning the tensor the layer's output becomes. Any other class is an error naming the layer.
 */
import { GraphError } from '../errors.js';
import type { GraphBuilder } from '../graph/graph.js';
import { type Pads, samePadding } from '../ir/tensor.js';
import * as op from '../operators/index.js';

/** A value of the Keras config JSON (model.json's modelTopology): read field by field, each checked where it is used.
 * */
// biome-ignore lint/suspicious/noExplicitAny: untyped JSON, every field is checked where it is read
export type KerasJson = any;

/** One layer as its handler sees it. */
export class KerasLayerContext {
  readonly ctx: string;

  constructor(
    readonly b: GraphBuilder,
    readonly name: string,
    readonly cls: string,
    readonly cfg: Record<string, KerasJson>,
    readonly inbound: string[],
    private readonly weight: (layer: string, param: string, shape: number[]) => Float32Array,
  ) {
    this.ctx = `layer ${name} (${cls})`;
  }

  fail(why: string): never {
    throw new GraphError(`${this.ctx}: ${why}`);
  }
  /** The layer's only input. */
  one(): string {
    if (this.inbound.length !== 1) this.fail(`expected one input, found ${this.inbound.length}`);
    return this.inbound[0]!;
  }
  /** The layer's weight `param` (kernel, bias, gamma, ...), of `shape`. */
  take(param: string, shape: number[]): Float32Array {
    return this.weight(this.name, param, shape);
  }
  pair(v: unknown, what: string): [number, number] {
    const a = Array.isArray(v) ? v : [v, v];
    if (a.length !== 2 || !a.every((x) => Number.isInteger(x) && x >= 0))
      this.fail(`${what} ${JSON.stringify(v)} is not a pair of integers`);
    return [a[0], a[1]];
  }
  /** A fused activation after the layer's op (linear: none). */
  activation(t: string, act: string | undefined): string {
    if (!act || act === 'linear') return t;
    if (act === 'relu') return this.b.add(op.relu(`${this.name}/relu`, t));
    if (act === 'softmax') return this.b.add(op.softmax(`${this.name}/softmax`, t));
    return this.fail(`activation ${act} is not supported (linear, relu, softmax)`);
  }
  /** Keras padding 'valid' or 'same' for a window of `size` and `strides` over the input `x`. */
  windowPads(x: string, size: [number, number], strides: [number, number], padding: unknown): Pads {
    if (padding === 'valid') return [0, 0, 0, 0];
    if (padding !== 'same') this.fail(`padding ${JSON.stringify(padding)} is not supported (valid, same)`);
    const [h, w] = this.b.shape(x);
    const [t, bt] = samePadding(h, size[0], strides[0]);
    const [l, r] = samePadding(w, size[1], strides[1]);
    return [t, l, bt, r];
  }
}

type Handler = (c: KerasLayerContext) => string;

function zeroPadding2D(c: KerasLayerContext): string {
  const p = c.cfg.padding;
  let pads: Pads;
  if (Number.isInteger(p)) pads = [p, p, p, p];
  else if (Array.isArray(p) && p.length === 2 && p.every(Number.isInteger)) pads = [p[0], p[1], p[0], p[1]];
  else if (Array.isArray(p) && p.length === 2 && p.every((x: unknown) => Array.isArray(x) && x.length === 2))
    pads = [p[0][0], p[1][0], p[0][1], p[1][1]];
  else return c.fail(`padding ${JSON.stringify(p)} not understood`);
  return c.b.add(op.pad(c.name, c.one(), pads));
}

function conv2D(c: KerasLayerContext): string {
  const { cfg } = c;
  const x = c.one();
  const cin = c.b.shape(x)[2];
  const [kh, kw] = c.pair(cfg.kernel_size, 'kernel_size');
  const strides = c.pair(cfg.strides ?? [1, 1], 'strides');
  const dilation = c.pair(cfg.dilation_rate ?? [1, 1], 'dilation_rate');
  if (dilation[0] !== 1 || dilation[1] !== 1) c.fail(`dilation_rate ${dilation} is not supported`);
  if ((cfg.groups ?? 1) !== 1) c.fail('grouped convolution is not supported');
  const filters = cfg.filters;
  if (!(Number.isInteger(filters) && filters > 0)) c.fail(`filters ${filters} must be a positive integer`);
  const pads = c.windowPads(x, [kh, kw], strides, cfg.padding);
  const out = c.b.add(
    op.conv2d(c.name, x, {
      weights: c.take('kernel', [kh, kw, cin, filters]),
      bias: cfg.use_bias === false ? undefined : c.take('bias', [filters]),
      kernel: [kh, kw],
      filters,
      strides,
      pads,
    }),
  );
  return c.activation(out, cfg.activation);
}

function batchNormalization(c: KerasLayerContext): string {
  const { cfg } = c;
  const x = c.one();
  const ch = c.b.shape(x)[2];
  const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3))
    c.fail(`axis ${JSON.stringify(cfg.axis)} is not supported (channels axis only)`);
  return c.b.add(
    op.batchNorm(c.name, x, {
      gamma: cfg.scale === false ? undefined : c.take('gamma', [ch]),
      beta: cfg.center === false ? undefined : c.take('beta', [ch]),
      mean: c.take('moving_mean', [ch]),
      variance: c.take('moving_variance', [ch]),
      epsilon: cfg.epsilon ?? 0.001,
    }),
  );
}

function activation(c: KerasLayerContext): string {
  const act = c.cfg.activation;
  if (act === 'linear') return c.one();
  if (act === 'relu') return c.b.add(op.relu(c.name, c.one()));
  if (act === 'softmax') return c.b.add(op.softmax(c.name, c.one()));
  return c.fail(`activation ${act} is not supported (linear, relu, softmax)`);
}

function relu(c: KerasLayerContext): string {
  const { cfg } = c;
  if ((cfg.max_value ?? null) !== null || (cfg.negative_slope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0)
    c.fail('only plain ReLU is supported');
  return c.b.add(op.relu(c.name, c.one()));
}

function maxPooling2D(c: KerasLayerContext): string {
  const x = c.one();
  const size = c.pair(c.cfg.pool_size ?? [2, 2], 'pool_size');
  const strides = c.pair(c.cfg.strides ?? size, 'strides');
  return c.b.add(
    op.maxPool(c.name, x, {
      size,
      strides,
      pads: c.windowPads(x, size, strides, c.cfg.padding ?? 'valid'),
      padValue: 'ignore',
    }),
  );
}

function add(c: KerasLayerContext): string {
  if (c.inbound.length !== 2) c.fail(`Add of ${c.inbound.length} inputs is not supported (2 only)`);
  return c.b.add(op.add(c.name, c.inbound[0]!, c.inbound[1]!));
}

function globalAveragePooling2D(c: KerasLayerContext): string {
  if (c.cfg.keepdims) c.fail('keepdims is not supported');
  return c.b.add(op.globalAvgPool(c.name, c.one()));
}

function dense(c: KerasLayerContext): string {
  const x = c.one();
  const s = c.b.shape(x);
  if (s[0] !== 1 || s[1] !== 1) c.fail(`input [${s}] must be a vector (put a pooling or Flatten layer before it)`);
  const units = c.cfg.units;
  const out = c.b.add(
    op.dense(c.name, x, {
      weights: c.take('kernel', [s[2], units]),
      bias: c.cfg.use_bias === false ? undefined : c.take('bias', [units]),
      units,
    }),
  );
  return c.activation(out, c.cfg.activation);
}

/** Flatten of a 1x1 input, Dropout: the tensor as it is. */
function passThrough(c: KerasLayerContext): string {
  const x = c.one();
  const s = c.b.shape(x);
  if (c.cls === 'Flatten' && (s[0] !== 1 || s[1] !== 1)) c.fail(`Flatten of [${s}] is only supported for 1x1 inputs`);
  return x;
}

export const KERAS_LAYERS: Record<string, Handler> = {
  ZeroPadding2D: zeroPadding2D,
  Conv2D: conv2D,
  BatchNormalization: batchNormalization,
  Activation: activation,
  ReLU: relu,
  MaxPooling2D: maxPooling2D,
  Add: add,
  GlobalAveragePooling2D: globalAveragePooling2D,
  Dense: dense,
  Flatten: passThrough,
  Dropout: passThrough,
};

/**
 * The engine's graph IR. Tensors are NHWC activations of one image: `shape = [height, width, channels]`
 * (a vector is [1, 1, C]); the batch is a run-time dimension. Constants are packed once, on the CPU:
 * conv weights HWIO ([kh][kw][cin][cout]), dense weights [in][out].
 */
import { GraphError } from '../errors.js';
import type { Preprocessing } from '../preprocess/preprocess.js';

export type Shape = [height: number, width: number, channels: number];

/** Padding in pixels: [top, left, bottom, right]. */
export type Pads = [number, number, number, number];

/**
 * int8 weights as a file stored them, in the node's weight layout: w ≈ values[i] * scales[i % cols] (one
 * scale per output channel). A node keeps its float weights too (values * scales), for every other use.
 */
export interface QuantizedWeights {
  values: Int8Array;
  scales: Float32Array;
}

/** What a weights file declares about itself (a converted safetensors file's `__metadata__`). */
export interface DeclaredSettings {
  precision?: 'f32' | 'f16' | 'int8';
  preprocessing?: Preprocessing;
  labels?: string[];
  /** The input size the weights were converted for ([height, width]; the network runs at any). */
  inputSize?: [number, number];
}

interface NodeBase {
  /** Unique, human-readable name (the source layer's), used in errors and profiles. */
  name: string;
  inputs: string[];
  output: string;
}

export interface Conv2dNode extends NodeBase {
  op: 'conv2d';
  /** inputs[0] is the activation; inputs[1], when present, is the residual added before the ReLU. */
  kernel: [number, number];
  strides: [number, number];
  pads: Pads;
  weights: Float32Array; // HWIO
  bias: Float32Array; // [cout]
  relu: boolean;
  /** Set when the weights were loaded as int8 (then `weights` holds their float values). */
  quantized?: QuantizedWeights;
}

export interface BatchNormNode extends NodeBase {
  op: 'batchnorm';
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export interface PadNode extends NodeBase {
  op: 'pad';
  pads: Pads;
}

export interface ReluNode extends NodeBase {
  op: 'relu';
}

export interface AddNode extends NodeBase {
  op: 'add';
  relu: boolean;
}

export interface MaxPoolNode extends NodeBase {
  op: 'maxpool';
  size: [number, number];
  strides: [number, number];
  pads: Pads;
  /** What padded positions hold: 0 (Keras ZeroPadding2D folded in) or nothing (-inf, PyTorch). */
  padValue: 'zero' | 'ignore';
}

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalavgpool';
}

export interface DenseNode extends NodeBase {
  op: 'dense';
  weights: Float32Array; // [in][out]
  bias: Float32Array;
  relu: boolean;
  /** Set when the weights were loaded as int8 (then `weights` holds their float values). */
  quantized?: QuantizedWeights;
}

export interface SoftmaxNode extends NodeBase {
  op: 'softmax';
}

export type GraphNode =
  | Conv2dNode
  | BatchNormNode
  | PadNode
  | ReluNode
  | AddNode
  | MaxPoolNode
  | GlobalAvgPoolNode
  | DenseNode
  | SoftmaxNode;

export interface Graph {
  name: string;
  input: string;
  output: string;
  shapes: Map<string, Shape>;
  /** In a valid topological order. */
  nodes: GraphNode[];
  /** What the weights file declared about itself, if anything. */
  declared?: DeclaredSettings;
}

export const shapeSize = (s: Shape): number => s[0] * s[1] * s[2];

export function outSize(inSize: number, kernel: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((inSize + padBefore + padAfter - kernel) / stride) + 1;
}

/** Keras/TensorFlow 'same' padding for one axis: [before, after]. */
export function samePadding(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function checkQuantized(name: string, q: QuantizedWeights | undefined, count: number, channels: number): void {
  if (!q) return;
  if (q.values.length !== count) throw new GraphError(`${name}: ${q.values.length} int8 values for ${count} weights`);
  if (q.scales.length !== channels)
    throw new GraphError(`${name}: ${q.scales.length} int8 scales for ${channels} output channels`);
}

/**
 * Builds a graph node by node, inferring and checking every shape as it goes.
 * Tensor ids are the node names; the builder refuses duplicates and unknown inputs.
 */
export class GraphBuilder {
  readonly shapes = new Map<string, Shape>();
  readonly nodes: GraphNode[] = [];

  constructor(
    readonly name: string,
    readonly input: string,
    inputShape: Shape,
  ) {
    for (const d of inputShape)
      if (!(Number.isInteger(d) && d > 0)) throw new GraphError(`input ${input}: bad shape [${inputShape}]`);
    this.shapes.set(input, [...inputShape]);
  }

  shape(id: string): Shape {
    const s = this.shapes.get(id);
    if (!s) throw new GraphError(`unknown tensor ${id}`);
    return s;
  }

  private add<N extends GraphNode>(node: N, shape: Shape): string {
    if (this.shapes.has(node.output)) throw new GraphError(`${node.name}: tensor ${node.output} defined twice`);
    if (!(shape[0] > 0 && shape[1] > 0 && shape[2] > 0)) {
      throw new GraphError(
        `${node.name}: output shape [${shape}] is empty (input ${node.inputs.map((i) => `[${this.shape(i)}]`).join(', ')})`,
      );
    }
    this.shapes.set(node.output, shape);
    this.nodes.push(node);
    return node.output;
  }

  conv2d(
    name: string,
    input: string,
    p: {
      weights: Float32Array;
      bias?: Float32Array;
      kernel: [number, number];
      filters: number;
      strides?: [number, number];
      pads?: Pads;
      relu?: boolean;
      quantized?: QuantizedWeights;
    },
  ): string {
    const [h, w, cin] = this.shape(input);
    const [kh, kw] = p.kernel;
    const strides = p.strides ?? [1, 1];
    const pads = p.pads ?? [0, 0, 0, 0];
    if (p.weights.length !== kh * kw * cin * p.filters) {
      throw new GraphError(
        `${name}: kernel holds ${p.weights.length} values, expected ${kh}x${kw}x${cin}x${p.filters} = ${kh * kw * cin * p.filters} for input [${h}, ${w}, ${cin}]`,
      );
    }
    const bias = p.bias ?? new Float32Array(p.filters);
    if (bias.length !== p.filters)
      throw new GraphError(`${name}: bias holds ${bias.length} values, expected ${p.filters}`);
    const shape: Shape = [
      outSize(h, kh, strides[0], pads[0], pads[2]),
      outSize(w, kw, strides[1], pads[1], pads[3]),
      p.filters,
    ];
    checkQuantized(name, p.quantized, p.weights.length, p.filters);
    return this.add(
      {
        op: 'conv2d',
        name,
        inputs: [input],
        output: name,
        kernel: [kh, kw],
        strides,
        pads,
        weights: p.weights,
        bias,
        relu: p.relu ?? false,
        ...(p.quantized && { quantized: p.quantized }),
      },
      shape,
    );
  }

  batchNorm(
    name: string,
    input: string,
    p: { gamma?: Float32Array; beta?: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number },
  ): string {
    const s = this.shape(input);
    const c = s[2];
    const gamma = p.gamma ?? new Float32Array(c).fill(1);
    const beta = p.beta ?? new Float32Array(c);
    for (const [what, v] of [
      ['gamma', gamma],
      ['beta', beta],
      ['moving mean', p.mean],
      ['moving variance', p.variance],
    ] as const) {
      if (v.length !== c)
        throw new GraphError(`${name}: ${what} holds ${v.length} values, expected ${c} (the input's channels)`);
    }
    if (!(p.epsilon >= 0)) throw new GraphError(`${name}: epsilon ${p.epsilon} must be >= 0`);
    const c0 = p.variance.findIndex((v) => !(v + p.epsilon > 0));
    if (c0 >= 0)
      throw new GraphError(
        `${name}: moving variance ${p.variance[c0]} of channel ${c0} plus epsilon ${p.epsilon} must be > 0 (it divides the input)`,
      );
    return this.add(
      {
        op: 'batchnorm',
        name,
        inputs: [input],
        output: name,
        gamma,
        beta,
        mean: p.mean,
        variance: p.variance,
        epsilon: p.epsilon,
      },
      [...s],
    );
  }

  pad(name: string, input: string, pads: Pads): string {
    const [h, w, c] = this.shape(input);
    if (pads.some((p) => !(Number.isInteger(p) && p >= 0)))
      throw new GraphError(`${name}: padding [${pads}] must be non-negative integers`);
    return this.add({ op: 'pad', name, inputs: [input], output: name, pads }, [
      h + pads[0] + pads[2],
      w + pads[1] + pads[3],
      c,
    ]);
  }

  relu(name: string, input: string): string {
    return this.add({ op: 'relu', name, inputs: [input], output: name }, [...this.shape(input)]);
  }

  addTensors(name: string, a: string, b: string, relu = false): string {
    const sa = this.shape(a),
      sb = this.shape(b);
    if (sa.join() !== sb.join()) throw new GraphError(`${name}: cannot add [${sa}] (${a}) and [${sb}] (${b})`);
    return this.add({ op: 'add', name, inputs: [a, b], output: name, relu }, [...sa]);
  }

  maxPool(
    name: string,
    input: string,
    p: { size: [number, number]; strides: [number, number]; pads?: Pads; padValue?: 'zero' | 'ignore' },
  ): string {
    const [h, w, c] = this.shape(input);
    const pads = p.pads ?? [0, 0, 0, 0];
    if (Math.max(pads[0], pads[2]) >= p.size[0] || Math.max(pads[1], pads[3]) >= p.size[1]) {
      throw new GraphError(`${name}: padding [${pads}] must be smaller than the pool size [${p.size}]`);
    }
    const shape: Shape = [
      outSize(h, p.size[0], p.strides[0], pads[0], pads[2]),
      outSize(w, p.size[1], p.strides[1], pads[1], pads[3]),
      c,
    ];
    return this.add(
      {
        op: 'maxpool',
        name,
        inputs: [input],
        output: name,
        size: p.size,
        strides: p.strides,
        pads,
        padValue: p.padValue ?? 'ignore',
      },
      shape,
    );
  }

  globalAvgPool(name: string, input: string): string {
    return this.add({ op: 'globalavgpool', name, inputs: [input], output: name }, [1, 1, this.shape(input)[2]]);
  }

  dense(
    name: string,
    input: string,
    p: { weights: Float32Array; bias?: Float32Array; units: number; relu?: boolean; quantized?: QuantizedWeights },
  ): string {
    const [h, w, c] = this.shape(input);
    const inFeatures = h * w * c;
    if (p.weights.length !== inFeatures * p.units) {
      throw new GraphError(
        `${name}: kernel holds ${p.weights.length} values, expected ${inFeatures}x${p.units} for input [${h}, ${w}, ${c}]`,
      );
    }
    const bias = p.bias ?? new Float32Array(p.units);
    if (bias.length !== p.units) throw new GraphError(`${name}: bias holds ${bias.length} values, expected ${p.units}`);
    checkQuantized(name, p.quantized, p.weights.length, p.units);
    return this.add(
      {
        op: 'dense',
        name,
        inputs: [input],
        output: name,
        weights: p.weights,
        bias,
        relu: p.relu ?? false,
        ...(p.quantized && { quantized: p.quantized }),
      },
      [1, 1, p.units],
    );
  }

  softmax(name: string, input: string): string {
    const [h, w, c] = this.shape(input);
    return this.add({ op: 'softmax', name, inputs: [input], output: name }, [1, 1, h * w * c]);
  }

  finish(output: string): Graph {
    this.shape(output);
    return { name: this.name, input: this.input, output, shapes: this.shapes, nodes: this.nodes };
  }
}

/**
 * The network's depth in the ResNet sense: the most weight layers (conv2d, dense) on any path from the
 * input to the output (ResNet-50: stem + 16 blocks x 3 + fc). Shortcut projections are off that path.
 */
export function weightDepth(graph: Graph): number {
  const depth = new Map<string, number>([[graph.input, 0]]);
  for (const node of graph.nodes) {
    const d = Math.max(...node.inputs.map((i) => depth.get(i) ?? 0));
    depth.set(node.output, d + (node.op === 'conv2d' || node.op === 'dense' ? 1 : 0));
  }
  return depth.get(graph.output) ?? 0;
}

/**
 * The classifier head of a graph's nodes: the last global average pool (its output is the embedding),
 * and the dense layer that reads it, when there is one (what class activation maps need).
 */
export function classifierHead(nodes: readonly GraphNode[]): { pool?: GlobalAvgPoolNode; dense?: DenseNode } {
  const pool = [...nodes].reverse().find((n): n is GlobalAvgPoolNode => n.op === 'globalavgpool');
  const dense = pool && nodes.find((n): n is DenseNode => n.op === 'dense' && n.inputs[0] === pool.output);
  return { pool, dense };
}

/**
 * The engine's graph IR: nodes (src/operators/) in a topological order, the shape of every tensor, and what
 * the weights file declared about itself. Tensors are NHWC activations of one image (src/ir/tensor.ts);
 * the batch is a run-time dimension. Constants are packed once, on the CPU: conv weights HWIO, dense
 * weights [in][out]. GraphBuilder adds nodes one at a time, each checked by its operator's shape inference.
 */
import { GraphError } from '../errors.js';
import type { QuantizedWeights, Shape } from '../ir/tensor.js';
import {
  type DenseNode,
  type GlobalAvgPoolNode,
  type GraphNode,
  inferShape,
  inputsOf,
  isWeighted,
} from '../operators/index.js';
import type { Preprocessing } from '../preprocess/preprocess.js';

export type { QuantizedWeights };

/** What a weights file declares about itself (a converted safetensors file's `__metadata__`). */
export interface DeclaredSettings {
  precision?: 'f32' | 'f16' | 'int8';
  preprocessing?: Preprocessing;
  labels?: string[];
  /** Where in the file the labels are (e.g. "config.json id2label"), for messages and `info`. */
  labelsFrom?: string;
  /** The input size the weights were converted for ([height, width]; the network runs at any). */
  inputSize?: [number, number];
}

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

/**
 * Builds a graph node by node, inferring and checking every shape as it goes (the node's operator does).
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
    for (const d of inputShape) {
      if (!(Number.isInteger(d) && d > 0)) throw new GraphError(`input ${input}: bad shape [${inputShape}]`);
    }
    this.shapes.set(input, [...inputShape]);
  }

  shape(id: string): Shape {
    const s = this.shapes.get(id);
    if (!s) throw new GraphError(`unknown tensor ${id}`);
    return s;
  }

  /** Adds `node` after checking it against its inputs' shapes; returns its output tensor. */
  add(node: GraphNode): string {
    if (this.shapes.has(node.output)) throw new GraphError(`${node.name}: tensor ${node.output} defined twice`);
    const inputs = inputsOf(node).map((t) => this.shape(t));
    const shape = inferShape(node, inputs);
    if (!(shape[0] > 0 && shape[1] > 0 && shape[2] > 0)) {
      const given = inputs.map((s) => `[${s}]`).join(', ');
      throw new GraphError(`${node.name}: output shape [${shape}] is empty (input ${given})`);
    }
    this.shapes.set(node.output, shape);
    this.nodes.push(node);
    return node.output;
  }

  finish(output: string): Graph {
    this.shape(output);
    return { name: this.name, input: this.input, output, shapes: this.shapes, nodes: this.nodes };
  }
}

/**
 * The network's depth in the ResNet sense: the most weight layers (conv2d, dense) on any path from the
 * input to the output (ResNet-50: stem + 16 blocks x 3 + fc). Shortcut projections are off that path; a
 * squeeze-and-excitation gate is not counted (timm's SE-ResNet-50 is 50 deep, as its name says).
 */
export function weightDepth(graph: Graph): number {
  const depth = new Map<string, number>([[graph.input, 0]]);
  for (const node of graph.nodes) {
    const d = Math.max(...inputsOf(node).map((i) => depth.get(i) ?? 0));
    depth.set(node.output, d + (isWeighted(node) && node.op !== 'squeezeexcite' ? 1 : 0));
  }
  return depth.get(graph.output) ?? 0;
}

/**
 * The classifier head of a graph's nodes: the last global average pool (its output is the embedding),
 * and the dense layer that reads it, when there is one (what class activation maps need).
 */
export function classifierHead(nodes: readonly GraphNode[]): { pool?: GlobalAvgPoolNode; dense?: DenseNode } {
  const pool = [...nodes].reverse().find((n): n is GlobalAvgPoolNode => n.op === 'globalavgpool');
  const dense = pool && nodes.find((n): n is DenseNode => n.op === 'dense' && n.input === pool.output);
  return { pool, dense };
}

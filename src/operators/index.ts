/**
 * The operators of the graph IR, registered in one table: every kind of node, and for each its inputs,
 * shape inference, lowering, reference and ONNX writer (src/operators/operator.ts). The table's type is a
 * mapped type over the kinds, so a kind without an operator does not compile. To add an operator: its
 * module beside these (node type, factory, Operator), its node type in GraphNode, its entry in OPERATORS.
 */
import type { Shape } from '../ir/tensor.js';
import { ADD, type AddNode } from './add.js';
import { AVGPOOL, type AvgPoolNode } from './avgpool.js';
import { BATCHNORM, type BatchNormNode } from './batchnorm.js';
import { CONV2D, type Conv2dNode } from './conv2d.js';
import { DENSE, type DenseNode } from './dense.js';
import { GLOBALAVGPOOL, type GlobalAvgPoolNode } from './globalavgpool.js';
import { MAXPOOL, type MaxPoolNode } from './maxpool.js';
import type { Operator } from './operator.js';
import { PAD, type PadNode } from './pad.js';
import { RELU, type ReluNode } from './relu.js';
import { SOFTMAX, type SoftmaxNode } from './softmax.js';
import { SQUEEZE_EXCITE, type SqueezeExciteNode } from './squeeze-excite.js';

export type GraphNode =
  | Conv2dNode
  | BatchNormNode
  | PadNode
  | ReluNode
  | AddNode
  | MaxPoolNode
  | AvgPoolNode
  | GlobalAvgPoolNode
  | DenseNode
  | SoftmaxNode
  | SqueezeExciteNode;

export type OpKind = GraphNode['op'];
export type NodeOf<K extends OpKind> = Extract<GraphNode, { op: K }>;

export const OPERATORS: { readonly [K in OpKind]: Operator<NodeOf<K>> } = {
  conv2d: CONV2D,
  batchnorm: BATCHNORM,
  pad: PAD,
  relu: RELU,
  add: ADD,
  maxpool: MAXPOOL,
  avgpool: AVGPOOL,
  globalavgpool: GLOBALAVGPOOL,
  dense: DENSE,
  softmax: SOFTMAX,
  squeezeexcite: SQUEEZE_EXCITE,
};

/** The operator of `node`'s kind. */
export const operatorOf = <N extends GraphNode>(node: N): Operator<N> => OPERATORS[node.op] as unknown as Operator<N>;

/** The tensors `node` reads, main input first (the fields its operator declares, where present). */
export function inputsOf(node: GraphNode): string[] {
  const fields = operatorOf(node).inputs as readonly string[];
  return fields.flatMap((f) => {
    const t = (node as unknown as Record<string, string | undefined>)[f];
    return t === undefined ? [] : [t];
  });
}

/** `node` with each input tensor renamed by `rename` (the same node where none changes). */
export function withInputs<N extends GraphNode>(node: N, rename: (tensor: string) => string): N {
  const fields = operatorOf(node).inputs as readonly string[];
  const record = node as unknown as Record<string, string | undefined>;
  const changed = fields.filter((f) => record[f] !== undefined && rename(record[f]) !== record[f]);
  if (!changed.length) return node;
  return { ...node, ...Object.fromEntries(changed.map((f) => [f, rename(record[f]!)])) };
}

/** The nodes that carry weights (conv, dense). */
export type WeightedNode = Extract<GraphNode, { weights: Float32Array }>;
export const isWeighted = (node: GraphNode): node is WeightedNode => operatorOf(node).weighted;

/** The output shape of `node` over inputs of `shapes` (its operator's check of it). */
export const inferShape = (node: GraphNode, shapes: readonly Shape[]): Shape => operatorOf(node).infer(node, shapes);

export type {
  AddNode,
  AvgPoolNode,
  BatchNormNode,
  Conv2dNode,
  DenseNode,
  GlobalAvgPoolNode,
  MaxPoolNode,
  PadNode,
  ReluNode,
  SoftmaxNode,
  SqueezeExciteNode,
};
export { add } from './add.js';
export { avgPool } from './avgpool.js';
export { batchNorm } from './batchnorm.js';
export { conv2d } from './conv2d.js';
export { dense } from './dense.js';
export { globalAvgPool } from './globalavgpool.js';
export { maxPool } from './maxpool.js';
export { pad } from './pad.js';
export { relu } from './relu.js';
export { softmax } from './softmax.js';
export { squeezeExcite } from './squeeze-excite.js';
export type { LowerOptions, Operator } from './operator.js';

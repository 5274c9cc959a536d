/**
 * Load-time rewrites of the graph IR, each exact in real arithmetic:
 *  - foldBatchNorm: a BatchNormalization after a conv or dense becomes that layer's weights and bias;
 *  - foldPadding:   an explicit zero padding before a conv or max pool becomes that op's padding;
 *  - fuseRelu:      a ReLU after a conv, dense, add or standalone BatchNormalization becomes its activation;
 *  - fuseResidual:  add(conv(x), r) [+ ReLU] becomes conv(x) with r added in its epilogue;
 *  - fusePreactivation: a standalone BatchNormalization [+ ReLU] read by convs only (a pre-activation ResNet's
 *                   norm1) is applied by each of them as it reads its input.
 * The first four are one rule each applied by `fusePairs`: a node and the producer of one of its inputs (read by
 * nothing else) become one node. Passes return a new graph and leave theirs as it was (unchanged nodes
 * and weights are shared). `optimize` runs them all in that order.
 */
import type { Pads } from '../ir/tensor.js';
import { scaleShift } from '../kernels/batchnorm.js';
import { type Conv2dNode, type GraphNode, inputsOf } from '../operators/index.js';
import type { Graph } from './graph.js';

/** A pair to merge: `first`, the producer of an input of the node the rule looked at, disappears; `merged` takes that
 * node's place. */
interface Fusion {
  first: GraphNode;
  merged: GraphNode;
}

/**
 * Looks at one node; may return a fusion with the producer of one of its inputs. `sole(tensor)` is that
 * tensor's producer when the node is its only reader (and it is not the graph's output); `order(tensor)`
 * the index of its producer in the graph (-1 for the graph's input).
 */
type Rule = (
  node: GraphNode,
  sole: (tensor: string) => GraphNode | undefined,
  order: (tensor: string) => number,
) => Fusion | undefined;

/**
 * Applies `rule` to every node of `graph`, with one producer map and one reader count for the pass. Each
 * merged node sits where the node it replaces sat (after both of the pair's inputs: the order stays
 * topological), and the tensor between the pair is gone.
 */
function fusePairs(graph: Graph, rule: Rule): { graph: Graph; count: number } {
  const made = new Map(graph.nodes.map((n) => [n.output, n]));
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const t of inputsOf(n)) readers.set(t, (readers.get(t) ?? 0) + 1);
  const sole = (tensor: string) =>
    tensor !== graph.output && readers.get(tensor) === 1 ? made.get(tensor) : undefined;
  const index = new Map(graph.nodes.map((n, i) => [n.output, i]));
  const order = (tensor: string) => index.get(tensor) ?? -1;
  const dropped = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const node of graph.nodes) {
    const fusion = rule(node, sole, order);
    if (!fusion) continue;
    if (dropped.has(node) || replaced.has(fusion.first)) throw new Error(`${node.name}: a pass fused one node twice`);
    dropped.add(fusion.first);
    replaced.set(node, fusion.merged);
  }
  return rewritten(graph, dropped, replaced);
}

/** `graph` without the `dropped` nodes (and their tensors), each of `replaced` in its node's place. */
function rewritten(
  graph: Graph,
  dropped: ReadonlySet<GraphNode>,
  replaced: ReadonlyMap<GraphNode, GraphNode>,
): { graph: Graph; count: number } {
  if (!dropped.size) return { graph, count: 0 };
  const nodes = graph.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  const shapes = new Map(graph.shapes);
  for (const n of dropped) shapes.delete(n.output);
  return { graph: { ...graph, shapes, nodes }, count: dropped.size };
}

/** conv/dense -> batchnorm: the BN's scale and shift folded into the weights and bias (in float64). */
const foldBatchNorm: Rule = (bn, sole) => {
  if (bn.op !== 'batchnorm') return undefined;
  const layer = sole(bn.input);
  if (!layer || (layer.op !== 'conv2d' && layer.op !== 'dense') || layer.relu) return undefined;
  if (layer.op === 'conv2d' && layer.residual) return undefined;
  const channels = bn.gamma.length;
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = bn.gamma[c]! / Math.sqrt(bn.variance[c]! + bn.epsilon);
  const weights = new Float32Array(layer.weights.length);
  for (let i = 0; i < weights.length; i++) weights[i] = layer.weights[i]! * scale[i % channels]!;
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) bias[c] = (layer.bias[c]! - bn.mean[c]!) * scale[c]! + bn.beta[c]!;
  // New weights: int8 values the layer was loaded with no longer stand for them.
  return { first: layer, merged: { ...layer, weights, bias, output: bn.output, quantized: undefined } };
};

/** pad -> conv or max pool: the padding becomes the op's own (zeros: a max pool then pads with 0, not -inf). */
const foldPadding: Rule = (next, sole) => {
  if (next.op !== 'conv2d' && next.op !== 'maxpool') return undefined;
  const pad = sole(next.input);
  if (pad?.op !== 'pad') return undefined;
  const input = pad.input;
  if (next.op === 'conv2d') {
    return { first: pad, merged: { ...next, input, pads: next.pads.map((p, i) => p + pad.pads[i]!) as Pads } };
  }
  // (a ceil-mode pool's windows past the end read nothing, which zero padding would change)
  if (next.pads.some((p) => p !== 0) || next.ceilMode) return undefined;
  return { first: pad, merged: { ...next, input, pads: [...pad.pads], padValue: 'zero' } };
};

/** conv/dense/add/batchnorm -> relu: the op's activation. */
const fuseRelu: Rule = (relu, sole) => {
  if (relu.op !== 'relu') return undefined;
  const prev = sole(relu.input);
  const fusable = prev?.op === 'conv2d' || prev?.op === 'dense' || prev?.op === 'add' || prev?.op === 'batchnorm';
  if (!prev || !fusable || prev.relu) return undefined;
  return { first: prev, merged: { ...prev, relu: true, output: relu.output } };
};

/** add(conv(x), r) [+ ReLU] -> conv(x) reading r as its residual, in its epilogue. */
const fuseResidual: Rule = (add, sole, order) => {
  if (add.op !== 'add' || add.gate) return undefined; // a gated add scales its input first: its own kernel
  // Of two convs (a projection block), take the one on the longer path (its input is produced later:
  // branch2c, not the shortcut's 1x1; a shortcut that pools first, as ResNet-D's, counts from the pool's
  // input), so the block's add + ReLU sits in its last conv.
  const pathStart = (t: string) => {
    const pool = sole(t);
    return pool?.op === 'avgpool' ? pool.input : t;
  };
  const sides = [
    { conv: sole(add.input), other: add.addend },
    { conv: sole(add.addend), other: add.input },
  ];
  const candidates = sides
    .filter(
      (c): c is { conv: Conv2dNode; other: string } => c.conv?.op === 'conv2d' && !c.conv.relu && !c.conv.residual,
    )
    .sort((a, b) => order(pathStart(b.conv.input)) - order(pathStart(a.conv.input)));
  const pick = candidates[0];
  if (!pick) return undefined;
  return { first: pick.conv, merged: { ...pick.conv, residual: pick.other, relu: add.relu, output: add.output } };
};

/**
 * batchnorm [+ ReLU] -> convs: a BatchNorm no layer before it could take, whose output only convs read as their
 * input (input channels a multiple of 4), becomes each one's pre-activation (scale and shift folded in float64),
 * read where the conv reads its input: the pre-activated tensor is never written. Zero padding stays exact: a
 * conv pads after its pre-activation, as it padded the BatchNorm's output.
 */
function fusePreactivation(graph: Graph): { graph: Graph; count: number } {
  const readers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const t of inputsOf(n)) readers.set(t, [...(readers.get(t) ?? []), n]);
  const replaced = new Map<GraphNode, GraphNode>();
  const dropped = new Set<GraphNode>();
  for (const bn of graph.nodes) {
    if (bn.op !== 'batchnorm' || bn.output === graph.output || bn.gamma.length % 4 !== 0) continue;
    const convs = readers.get(bn.output) ?? [];
    const takes = (n: GraphNode) => n.op === 'conv2d' && n.input === bn.output && !n.preact && n.residual !== bn.output;
    if (!convs.length || !convs.every(takes)) continue;
    const preact = { relu: bn.relu ?? false, ...scaleShift(bn) };
    for (const conv of convs) replaced.set(conv, { ...conv, input: bn.input, preact } as GraphNode);
    dropped.add(bn);
  }
  return rewritten(graph, dropped, replaced);
}

export interface OptimizeReport {
  batchNormsFolded: number;
  paddingsFolded: number;
  relusFused: number;
  residualsFused: number;
  preactivationsFused: number;
}

/** All five passes, in order: the graph the planner runs, and how much each pass did. `graph` is left as it was. */
export function optimize(graph: Graph): { graph: Graph; report: OptimizeReport } {
  const bn = fusePairs(graph, foldBatchNorm);
  const pad = fusePairs(bn.graph, foldPadding);
  const relu = fusePairs(pad.graph, fuseRelu);
  const residual = fusePairs(relu.graph, fuseResidual);
  const preact = fusePreactivation(residual.graph);
  return {
    graph: preact.graph,
    report: {
      batchNormsFolded: bn.count,
      paddingsFolded: pad.count,
      relusFused: relu.count,
      residualsFused: residual.count,
      preactivationsFused: preact.count,
    },
  };
}

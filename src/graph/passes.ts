/**
 * Load-time rewrites of the graph IR, each exact in real arithmetic:
 *  - foldBatchNorm: a BatchNormalization after a conv or dense becomes that layer's weights and bias;
 *  - foldPadding:   an explicit zero padding before a conv or max pool becomes that op's padding;
 *  - fuseRelu:      a ReLU after a conv, dense or add becomes that op's activation;
 *  - fuseResidual:  add(conv(x), r) [+ ReLU] becomes conv(x) with r added in its epilogue.
 * `optimize` runs them all in that order.
 */
import type { Conv2dNode, DenseNode, Graph, GraphNode } from './ir.js';

function consumers(graph: Graph): Map<string, GraphNode[]> {
  const map = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      const list = map.get(input) ?? [];
      list.push(node);
      map.set(input, list);
    }
  }
  return map;
}

function producers(graph: Graph): Map<string, GraphNode> {
  return new Map(graph.nodes.map((n) => [n.output, n]));
}

/** The producer of `tensor` if `consumer` is its one and only use (and it is not the graph output). */
function soleProducer(graph: Graph, tensor: string, consumer: GraphNode, uses: Map<string, GraphNode[]>, made: Map<string, GraphNode>): GraphNode | undefined {
  if (tensor === graph.output) return undefined;
  const list = uses.get(tensor);
  if (!list || list.length !== 1 || list[0] !== consumer) return undefined;
  return made.get(tensor);
}

/** Replaces `from`'s output with `node`'s, so `node` disappears and `from` writes its result. */
function absorb(graph: Graph, from: GraphNode, node: GraphNode): void {
  graph.shapes.delete(from.output);
  from.output = node.output;
  graph.nodes.splice(graph.nodes.indexOf(node), 1);
}

export function foldBatchNorm(graph: Graph): number {
  let folded = 0;
  for (const bn of [...graph.nodes]) {
    if (bn.op !== 'batchnorm') continue;
    const uses = consumers(graph), made = producers(graph);
    const prev = soleProducer(graph, bn.inputs[0]!, bn, uses, made);
    if (!prev || (prev.op !== 'conv2d' && prev.op !== 'dense') || prev.relu || prev.inputs.length > 1) continue;
    const layer = prev as Conv2dNode | DenseNode;
    const channels = bn.gamma.length;
    const scale = new Float64Array(channels);
    for (let c = 0; c < channels; c++) scale[c] = bn.gamma[c]! / Math.sqrt(bn.variance[c]! + bn.epsilon);
    const weights = new Float32Array(layer.weights.length);
    for (let i = 0; i < weights.length; i++) weights[i] = layer.weights[i]! * scale[i % channels]!;
    const bias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) bias[c] = (layer.bias[c]! - bn.mean[c]!) * scale[c]! + bn.beta[c]!;
    layer.weights = weights;
    layer.bias = bias;
    absorb(graph, layer, bn);
    folded++;
  }
  return folded;
}

export function foldPadding(graph: Graph): number {
  let folded = 0;
  for (const pad of [...graph.nodes]) {
    if (pad.op !== 'pad') continue;
    const uses = consumers(graph).get(pad.output) ?? [];
    if (uses.length !== 1 || pad.output === graph.output) continue;
    const next = uses[0]!;
    if (next.op === 'conv2d') {
      next.pads = next.pads.map((p, i) => p + pad.pads[i]!) as Conv2dNode['pads'];
    } else if (next.op === 'maxpool' && next.pads.every((p) => p === 0)) {
      next.pads = [...pad.pads];
      next.padValue = 'zero';
    } else {
      continue;
    }
    next.inputs[0] = pad.inputs[0]!;
    graph.shapes.delete(pad.output);
    graph.nodes.splice(graph.nodes.indexOf(pad), 1);
    folded++;
  }
  return folded;
}

export function fuseRelu(graph: Graph): number {
  let fused = 0;
  for (const relu of [...graph.nodes]) {
    if (relu.op !== 'relu') continue;
    const prev = soleProducer(graph, relu.inputs[0]!, relu, consumers(graph), producers(graph));
    if (!prev || (prev.op !== 'conv2d' && prev.op !== 'dense' && prev.op !== 'add') || prev.relu) continue;
    prev.relu = true;
    absorb(graph, prev, relu);
    fused++;
  }
  return fused;
}

export function fuseResidual(graph: Graph): number {
  let fused = 0;
  for (const add of [...graph.nodes]) {
    if (add.op !== 'add') continue;
    const uses = consumers(graph), made = producers(graph);
    // Of two convs (a projection block), take the one on the longer path (its input is produced later:
    // branch2c, not the shortcut's 1x1), so the block's add + ReLU sits in its last conv.
    const depth = (conv: Conv2dNode) => graph.nodes.indexOf(made.get(conv.inputs[0]!)!);
    const candidates = add.inputs
      .map((input, i) => ({ i, conv: soleProducer(graph, input, add, uses, made) }))
      .filter((c): c is { i: number; conv: Conv2dNode } => c.conv?.op === 'conv2d' && !c.conv.relu && c.conv.inputs.length === 1)
      .sort((a, b) => depth(b.conv) - depth(a.conv));
    const pick = candidates[0];
    if (!pick) continue;
    const conv = pick.conv;
    conv.inputs.push(add.inputs[1 - pick.i]!);
    conv.relu = add.relu;
    absorb(graph, conv, add);
    // The conv now reads the residual: keep the order topological.
    const residualProducer = made.get(conv.inputs[1]!);
    if (residualProducer && graph.nodes.indexOf(residualProducer) > graph.nodes.indexOf(conv)) {
      graph.nodes.splice(graph.nodes.indexOf(conv), 1);
      graph.nodes.splice(graph.nodes.indexOf(residualProducer) + 1, 0, conv);
    }
    fused++;
  }
  return fused;
}

export interface OptimizeReport {
  batchNormsFolded: number;
  paddingsFolded: number;
  relusFused: number;
  residualsFused: number;
}

export function optimize(graph: Graph): OptimizeReport {
  const report = {
    batchNormsFolded: foldBatchNorm(graph),
    paddingsFolded: foldPadding(graph),
    relusFused: fuseRelu(graph),
    residualsFused: fuseResidual(graph),
  };
  return report;
}

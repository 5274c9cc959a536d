/**
 * Plan: graph IR (after the load-time passes) -> an ordered list of kernels, tensor lifetimes, and an
 * activation arena in which tensors whose lifetimes do not overlap share memory.
 */
import type { Graph, GraphNode, Shape } from '../graph/ir.js';
import { shapeSize } from '../graph/ir.js';
import { addReluKernel } from '../ops/add-relu.js';
import { conv2dKernel, type ConvStrategy } from '../ops/conv2d.js';
import { denseKernel, softmaxKernel } from '../ops/dense.js';
import type { Kernel } from '../ops/kernel.js';
import { globalAvgPoolKernel, maxPoolKernel } from '../ops/pool.js';

export interface TensorLife {
  id: string;
  shape: Shape;
  /** Step that writes it (-1: the input, written before the first step). */
  first: number;
  /** Last step that reads it (steps.length: read back after the last step). */
  last: number;
}

export interface Plan {
  graph: Graph;
  steps: Kernel[];
  tensors: TensorLife[];
  input: string;
  output: string;
  /** The softmax's input, when the graph ends in a softmax: what `output: 'logits'` reads. */
  logits?: string;
}

export interface ArenaLayout {
  batch: number;
  bytes: number;
  /** Byte offset and size of each tensor in the arena. */
  slots: Map<string, { offset: number; size: number }>;
}

/** The kernel that runs `node`; ops the passes should have removed are an error naming the node. */
export interface PlanOptions {
  /** Conv main loop: 'tiled' for GPUs (default), 'simd' for CPU adapters (needs subgroupSize). */
  convStrategy?: ConvStrategy;
  subgroupSize?: number;
  /** With 'simd': whether convs over few input channels (the stem) take it too; else they stay tiled. */
  simdStem?: boolean;
}

export function lowerNode(node: GraphNode, shapes: Map<string, Shape>, options: PlanOptions = {}): Kernel {
  const inShape = shapes.get(node.inputs[0]!)!;
  const outShape = shapes.get(node.output)!;
  switch (node.op) {
    case 'conv2d': {
      const stem = inShape[2] % 4 !== 0;
      const strategy = options.convStrategy === 'simd' && stem && options.simdStem === false ? 'tiled' : options.convStrategy;
      return conv2dKernel(node, inShape, outShape, { strategy, subgroupSize: options.subgroupSize });
    }
    case 'maxpool': return maxPoolKernel(node, inShape, outShape);
    case 'globalavgpool': return globalAvgPoolKernel(node, inShape);
    case 'dense': return denseKernel(node, inShape, outShape);
    case 'softmax': return softmaxKernel(node, outShape);
    case 'add': return addReluKernel(node, outShape);
    default:
      throw new Error(`${node.name}: a standalone ${node.op} is not supported (it must follow a conv${node.op === 'relu' ? ', dense or add' : ''})`);
  }
}

/** Orders the nodes (stable topological sort), lowers each to a kernel, and computes tensor lifetimes. */
export function planGraph(graph: Graph, options: PlanOptions = {}): Plan {
  const producer = new Map(graph.nodes.map((n) => [n.output, n]));
  const order: GraphNode[] = [];
  const state = new Map<GraphNode, 'visiting' | 'done'>();
  const visit = (node: GraphNode) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') throw new Error(`${node.name}: the graph has a cycle`);
    state.set(node, 'visiting');
    for (const input of node.inputs) {
      const p = producer.get(input);
      if (p) visit(p);
      else if (input !== graph.input) throw new Error(`${node.name}: input ${input} is never produced`);
    }
    state.set(node, 'done');
    order.push(node);
  };
  const outNode = producer.get(graph.output);
  if (!outNode) throw new Error(`output ${graph.output} is never produced`);
  visit(outNode); // only what the output needs runs

  const steps = order.map((node) => lowerNode(node, graph.shapes, options));
  const logits = outNode.op === 'softmax' ? outNode.inputs[0] : undefined;
  const lives = new Map<string, TensorLife>();
  lives.set(graph.input, { id: graph.input, shape: graph.shapes.get(graph.input)!, first: -1, last: -1 });
  order.forEach((node, step) => {
    lives.set(node.output, { id: node.output, shape: graph.shapes.get(node.output)!, first: step, last: step });
    for (const input of node.inputs) lives.get(input)!.last = step;
  });
  lives.get(graph.output)!.last = steps.length;
  if (logits) lives.get(logits)!.last = steps.length;
  return { graph, steps, tensors: [...lives.values()], input: graph.input, output: graph.output, logits };
}

/**
 * Packs the tensors of `plan` for `batch` images into one arena: largest first, each at the lowest
 * aligned offset that does not overlap a tensor alive at the same time.
 */
export function layoutArena(plan: Plan, batch: number, alignment = 256): ArenaLayout {
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  const sized = plan.tensors.map((t) => ({ ...t, size: shapeSize(t.shape) * 4 * batch }))
    .sort((a, b) => b.size - a.size || a.first - b.first);
  const placed: Array<{ first: number; last: number; offset: number; end: number }> = [];
  const slots = new Map<string, { offset: number; size: number }>();
  let bytes = 0;
  for (const t of sized) {
    const busy = placed.filter((p) => p.first <= t.last && t.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of busy) {
      if (offset + t.size <= p.offset) break;
      offset = Math.max(offset, align(p.end));
    }
    placed.push({ first: t.first, last: t.last, offset, end: offset + t.size });
    slots.set(t.id, { offset, size: t.size });
    bytes = Math.max(bytes, align(offset + t.size));
  }
  return { batch, bytes, slots };
}

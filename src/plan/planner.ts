/**
 * Plan: graph IR (after the load-time passes) -> an ordered list of kernels for one batch size (each node
 * lowered by its operator, src/operators/), tensor lifetimes, and an activation arena in which tensors whose
 * lifetimes do not overlap share memory (src/plan/arena.ts). The batch matters on GPUs: it sets the GEMM
 * sizes, and so the conv tiles and split-K factors.
 */
import { GraphError } from '../errors.js';
import { classifierHead, type Graph } from '../graph/graph.js';
import { type Shape, shapeSize } from '../ir/tensor.js';
import { CAM_TENSOR, classActivationMapsKernel } from '../kernels/class-activation-maps.js';
import { DEFAULT_POLICY } from '../kernels/conv-tiling.js';
import type { Kernel } from '../kernels/kernel.js';
import { halfSplit } from '../operators/conv-algorithm.js';
import { type GraphNode, inputsOf, type LowerOptions, operatorOf } from '../operators/index.js';
import { layoutArena, type TensorLife } from './arena.js';

export type { TensorLife };

/** What a run can read back, by the names of the public API (ResNetModel.infer's `output`). */
export interface PlanOutputs {
  /** The graph's output (a softmax's, for a classifier that ends in one). */
  probabilities: string;
  /** The softmax's input, when the graph ends in a softmax. */
  logits?: string;
  /** The last global average pool's output (the embedding), when there is one. */
  features?: string;
  /** With PlanOptions.classActivationMaps: every class's map and then the logits (CAM_TENSOR). */
  cam?: string;
}

export interface Plan {
  steps: Kernel[];
  tensors: TensorLife[];
  input: string;
  outputs: PlanOutputs;
  /** The storage buffer offset alignment planWithinMemory weighed the arena at (its device's). */
  alignment?: number;
}

export interface PlanOptions extends LowerOptions {
  /** Also compute the class activation maps after the network (output 'cam'): needs a global average pool read by one
   * dense layer. */
  classActivationMaps?: boolean;
}

/** The nodes the output needs, in a stable topological order; a cycle or a tensor never produced is a GraphError. */
function executionOrder(graph: Graph): GraphNode[] {
  const producer = new Map(graph.nodes.map((n) => [n.output, n]));
  const order: GraphNode[] = [];
  const state = new Map<GraphNode, 'visiting' | 'done'>();
  const visit = (node: GraphNode) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') throw new GraphError(`${node.name}: the graph has a cycle`);
    state.set(node, 'visiting');
    for (const input of inputsOf(node)) {
      const p = producer.get(input);
      if (p) visit(p);
      else if (input !== graph.input) throw new GraphError(`${node.name}: input ${input} is never produced`);
    }
    state.set(node, 'done');
    order.push(node);
  };
  const outNode = producer.get(graph.output);
  if (!outNode) throw new GraphError(`output ${graph.output} is never produced`);
  visit(outNode); // only what the output needs runs
  return order;
}

/** The kernels of `node`, by its operator, each marked as computing it. */
function lower(node: GraphNode, shapes: Map<string, Shape>, options: PlanOptions): Kernel[] {
  const inputs = inputsOf(node).map((t) => shapes.get(t)!);
  const kernels = operatorOf(node).lower(node, inputs, shapes.get(node.output)!, options);
  return kernels.map((kernel) => Object.assign(kernel, { layer: node.name }));
}

/** The class activation maps' kernel, after a network that ends in a global average pool, one dense layer and a
 * softmax. */
function camKernel(graph: Graph, order: GraphNode[], logits: string | undefined, options: PlanOptions): Kernel {
  const { pool, dense } = classifierHead(order);
  if (!pool || !dense || dense.output !== logits) {
    throw new GraphError(
      'class activation maps need the network to end in a global average pool, one dense layer and a softmax',
    );
  }
  const features = graph.shapes.get(pool.input)!;
  const denseInputs = shapeSize(graph.shapes.get(dense.input)!);
  return classActivationMapsKernel(pool.input, features, dense, denseInputs, dense.output, options.weightStorage);
}

/** Each tensor's life: from the step that first names it (its writer; the graph input before step 0) to the last. */
function lifetimes(graph: Graph, steps: Kernel[]): Map<string, TensorLife> {
  const lives = new Map<string, TensorLife>();
  lives.set(graph.input, { id: graph.input, shape: graph.shapes.get(graph.input)!, first: -1, last: -1 });
  steps.forEach((step, i) => {
    const scratch = new Map(step.scratch?.map((t) => [t.id, t.shape]));
    for (const [, r] of step.resources) {
      if (r.kind !== 'tensor') continue;
      const life = lives.get(r.id);
      if (life) {
        life.last = i;
        continue;
      }
      const shape = scratch.get(r.id) ?? graph.shapes.get(r.id);
      if (!shape)
        throw new Error(`${step.label}: tensor ${r.id} has no shape (neither a graph tensor nor the kernel's scratch)`);
      lives.set(r.id, { id: r.id, shape, first: i, last: i, scratch: scratch.has(r.id) || undefined });
    }
  });
  return lives;
}

/** Orders the nodes (stable topological sort), lowers each to kernels, and computes tensor lifetimes. */
export function planGraph(graph: Graph, options: PlanOptions = {}): Plan {
  const order = executionOrder(graph);
  const steps = order.flatMap((node) => lower(node, graph.shapes, options));
  const outNode = order.at(-1)!;
  const logits = outNode.op === 'softmax' ? outNode.input : undefined;
  const features = classifierHead(order).pool?.output;
  const cam = options.classActivationMaps ? CAM_TENSOR : undefined;
  if (cam) steps.push(camKernel(graph, order, logits, options));
  const lives = lifetimes(graph, steps);
  // What a run may read back stays alive to the end.
  for (const t of [graph.output, logits, features, cam]) if (t) lives.get(t)!.last = steps.length;
  return {
    steps,
    tensors: [...lives.values()],
    input: graph.input,
    outputs: { probabilities: graph.output, logits, features, ...(cam && { cam }) },
  };
}

/**
 * planGraph, then split-K taken back where its partial sums would raise the arena above the same plan's
 * without split-K: split-K buys parallelism, never memory. While the arena is larger, the largest scratch
 * tensor alive where it overflows (or else the largest) gets half the split (down to 1), and the graph is
 * planned again; at worst that ends at the plan without split-K.
 */
export function planWithinMemory(graph: Graph, options: PlanOptions = {}, alignment = 256): Plan {
  const batch = options.batch ?? 1;
  let plan: Plan = { ...planGraph(graph, options), alignment };
  if (!plan.tensors.some((t) => t.scratch)) return plan;
  const budget = layoutArena(planWithoutSplit(graph, options), batch, alignment).bytes;
  const conv = { ...options.conv };
  for (;;) {
    const layout = layoutArena(plan, batch, alignment);
    if (layout.bytes <= budget) return plan;
    const over = plan.tensors.filter((t) => {
      const s = layout.slots.get(t.id)!;
      return s.offset + s.size > budget;
    });
    const alive = (t: TensorLife) => over.some((o) => o.first <= t.last && t.first <= o.last);
    const bySize = (a: TensorLife, b: TensorLife) => layout.slots.get(b.id)!.size - layout.slots.get(a.id)!.size;
    // The largest split-K scratch alive where it overflows (else the largest anywhere) gets half the split.
    const smaller = (t: TensorLife) => {
      const algorithm = t.scratch ? plan.steps[t.first]!.algorithm : undefined;
      return algorithm && halfSplit(algorithm);
    };
    const shrinkable = plan.tensors.filter(smaller);
    const victim = shrinkable.filter(alive).sort(bySize)[0] ?? shrinkable.sort(bySize)[0];
    if (!victim) return plan; // nothing shrinks further: the smallest this plan gets
    const writer = plan.steps[victim.first]!;
    conv[writer.label] = { ...conv[writer.label], ...smaller(victim) };
    plan = { ...planGraph(graph, { ...options, conv }), alignment };
  }
}

/**
 * The same plan without split-K: the policy's target 0, pinned tilings (the autotune's) unsplit (a pinned
 * split keeps its conv direct: unsplit, it stays direct).
 */
function planWithoutSplit(graph: Graph, options: PlanOptions): Plan {
  const unsplit = Object.fromEntries(
    Object.entries(options.conv ?? {}).map(([name, o]) => {
      const split = o.tiling && o.tiling.split > 1;
      return [name, split ? { ...o, tiling: { ...o.tiling!, split: 1 }, winograd: o.winograd ?? false } : o];
    }),
  );
  return planGraph(graph, { ...options, conv: unsplit, policy: { ...(options.policy ?? DEFAULT_POLICY), target: 0 } });
}

/**
 * Plan: graph IR (after the load-time passes) -> an ordered list of kernels for one batch size, tensor
 * lifetimes, and an activation arena in which tensors whose lifetimes do not overlap share memory.
 * The batch matters on GPUs: it sets the GEMM sizes, and so the conv tiles and split-K factors.
 */
import { GraphError } from '../errors.js';
import type { Graph, GraphNode, Shape } from '../graph/ir.js';
import { classifierHead, shapeSize } from '../graph/ir.js';
import { addReluKernel } from '../ops/add-relu.js';
import { conv2dKernels, type ConvBuildOptions } from '../ops/conv2d.js';
import { chooseConvAlgorithm, type ConvOverride, type ConvStrategy } from './conv-algorithm.js';
import { DEFAULT_POLICY, type TilingPolicy } from '../ops/conv-tiling.js';
import { CAM_TENSOR, classActivationMapsKernel } from '../ops/class-activation-maps.js';
import { denseKernel, softmaxKernel } from '../ops/dense.js';
import type { Kernel } from '../ops/kernel.js';
import type { WinogradTile } from '../ops/winograd.js';
import type { WeightStorage } from '../ops/weight-storage.js';
import { globalAvgPoolKernel, maxPoolKernel } from '../ops/pool.js';

export interface TensorLife {
  id: string;
  shape: Shape;
  /** Step that writes it (-1: the input, written before the first step). */
  first: number;
  /** Last step that reads it (steps.length: read back after the last step). */
  last: number;
  /** A kernel's scratch (split-K partial sums), not a graph tensor. */
  scratch?: boolean;
}

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
}

export interface ArenaLayout {
  bytes: number;
  /** Byte offset and size of each tensor in the arena. */
  slots: Map<string, { offset: number; size: number }>;
}

export interface PlanOptions {
  /** The batch size to plan for (default 1). */
  batch?: number;
  /** Conv main loop: 'tiled' for GPUs (default), 'simd' for CPU adapters (needs subgroupSize). */
  convStrategy?: ConvStrategy;
  /** Winograd for the 3x3 stride-1 convs (default true: where it pays; 2 or 4: that output tile wherever it fits; false: none). */
  winograd?: boolean | WinogradTile;
  subgroupSize?: number;
  /** With 'simd': whether convs over few input channels (the stem) take it too; else they stay tiled. */
  simdStem?: boolean;
  /** Also compute the class activation maps after the network (output 'cam'): needs a global average pool read by one dense layer. */
  classActivationMaps?: boolean;
  /** How conv and dense weights are stored on the GPU (LoadOptions.precision; default 'f32'). */
  weightStorage?: WeightStorage;
  /** Tiled convs: the tiling policy (for tuning runs). */
  policy?: TilingPolicy;
  /** Tiled convs: the main loop's WGSL (experiments in bench/kernels/; default shaders/conv_gemm.wgsl). */
  gemmShader?: string;
  /**
   * Per conv node name: a pinned decision (src/plan/conv-algorithm.ts) or build option; tests pin a
   * strategy or tiling, and planWithinMemory a lower split-K factor.
   */
  conv?: Record<string, ConvOverride & ConvBuildOptions>;
}

/** The kernels that run `node`; ops the passes should have removed are an error naming the node. */
function lowerNode(node: GraphNode, shapes: Map<string, Shape>, options: PlanOptions = {}): Kernel[] {
  const inShape = shapes.get(node.inputs[0]!)!;
  const outShape = shapes.get(node.output)!;
  switch (node.op) {
    case 'conv2d': {
      const {
        weightStorage = options.weightStorage,
        gemmShader = options.gemmShader,
        ...pinned
      } = options.conv?.[node.name] ?? {};
      const lowering = {
        convStrategy: options.convStrategy,
        subgroupSize: options.subgroupSize,
        simdStem: options.simdStem,
        winograd: options.winograd,
      };
      const algorithm = chooseConvAlgorithm(
        node,
        inShape,
        outShape,
        { lowering, batch: options.batch, policy: options.policy, storage: weightStorage },
        pinned,
      );
      return conv2dKernels(node, inShape, outShape, algorithm, { weightStorage, gemmShader });
    }
    case 'maxpool':
      return [maxPoolKernel(node, inShape, outShape)];
    case 'globalavgpool':
      return [globalAvgPoolKernel(node, inShape)];
    case 'dense':
      return [denseKernel(node, inShape, outShape, options.weightStorage)];
    case 'softmax':
      return [softmaxKernel(node, outShape)];
    case 'add':
      return [addReluKernel(node, outShape)];
    default:
      throw new GraphError(
        `${node.name}: a standalone ${node.op} is not supported (it must follow a conv${node.op === 'relu' ? ', dense or add' : ''})`,
      );
  }
}

/** Orders the nodes (stable topological sort), lowers each to kernels, and computes tensor lifetimes. */
export function planGraph(graph: Graph, options: PlanOptions = {}): Plan {
  const producer = new Map(graph.nodes.map((n) => [n.output, n]));
  const order: GraphNode[] = [];
  const state = new Map<GraphNode, 'visiting' | 'done'>();
  const visit = (node: GraphNode) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') throw new GraphError(`${node.name}: the graph has a cycle`);
    state.set(node, 'visiting');
    for (const input of node.inputs) {
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

  const steps: Kernel[] = order.flatMap((node) =>
    lowerNode(node, graph.shapes, options).map((kernel) => Object.assign(kernel, { layer: node.name })),
  );
  const logits = outNode.op === 'softmax' ? outNode.inputs[0] : undefined;
  const { pool, dense } = classifierHead(order);
  const features = pool?.output;
  let cam: string | undefined;
  if (options.classActivationMaps) {
    if (!pool || !dense || dense.output !== logits)
      throw new GraphError(
        'class activation maps need the network to end in a global average pool, one dense layer and a softmax',
      );
    steps.push(
      classActivationMapsKernel(
        pool.inputs[0]!,
        graph.shapes.get(pool.inputs[0]!)!,
        dense,
        shapeSize(graph.shapes.get(dense.inputs[0]!)!),
        dense.output,
        options.weightStorage,
      ),
    );
    cam = CAM_TENSOR;
  }
  // A tensor lives from the step that first names it (its writer; the graph input before step 0) to the last that names it.
  const lives = new Map<string, TensorLife>();
  lives.set(graph.input, { id: graph.input, shape: graph.shapes.get(graph.input)!, first: -1, last: -1 });
  steps.forEach((step, i) => {
    const scratch = new Map(step.scratch?.map((t) => [t.id, t.shape]));
    for (const [, r] of step.resources) {
      if (r.kind !== 'tensor') continue;
      const life = lives.get(r.id);
      if (life) life.last = i;
      else {
        const shape = scratch.get(r.id) ?? graph.shapes.get(r.id);
        if (!shape)
          throw new Error(
            `${step.label}: tensor ${r.id} has no shape (neither a graph tensor nor the kernel's scratch)`,
          );
        lives.set(r.id, { id: r.id, shape, first: i, last: i, scratch: scratch.has(r.id) || undefined });
      }
    }
  });
  lives.get(graph.output)!.last = steps.length;
  // What a run may read back stays alive to the end.
  for (const t of [logits, features, cam]) if (t) lives.get(t)!.last = steps.length;
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
  let plan = planGraph(graph, options);
  if (!plan.tensors.some((t) => t.scratch)) return plan;
  // the reference: no split-K, pinned tilings (the autotune's) included
  // (a pinned split keeps its conv direct: unsplit, it stays direct)
  const unsplit = Object.fromEntries(
    Object.entries(options.conv ?? {}).map(([name, o]) => [
      name,
      o.tiling && o.tiling.split > 1 ? { ...o, tiling: { ...o.tiling, split: 1 }, winograd: o.winograd ?? false } : o,
    ]),
  );
  const noSplit = planGraph(graph, {
    ...options,
    conv: unsplit,
    policy: { ...(options.policy ?? DEFAULT_POLICY), target: 0 },
  });
  const budget = layoutArena(noSplit, batch, alignment).bytes;
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
    // The largest scratch alive where it overflows that can shrink (else the largest anywhere), shrunk by its op.
    const shrinkable = plan.tensors.filter((t) => t.scratch && plan.steps[t.first]!.lessScratch?.());
    const victim = shrinkable.filter(alive).sort(bySize)[0] ?? shrinkable.sort(bySize)[0];
    if (!victim) return plan; // nothing shrinks further: the smallest this plan gets
    const writer = plan.steps[victim.first]!;
    conv[writer.label] = { ...conv[writer.label], ...writer.lessScratch!() };
    plan = planGraph(graph, { ...options, conv });
  }
}

/**
 * Packs the tensors of `plan` for `batch` images into one arena: largest first, each at the lowest
 * aligned offset that does not overlap a tensor alive at the same time.
 */
export function layoutArena(plan: Plan, batch: number, alignment = 256): ArenaLayout {
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  const sized = plan.tensors
    .map((t) => ({ ...t, size: shapeSize(t.shape) * 4 * batch }))
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
  return { bytes, slots };
}

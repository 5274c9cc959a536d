/**
 * Residual blocks of an optimized graph, found from its structure (so for every weights format), and
 * lesions: the same graph with some blocks deleted (Veit et al., "Residual Networks Behave Like Ensembles
 * of Relatively Shallow Networks", NeurIPS 2016).
 *
 * After the passes a block y = relu(F(x) + s(x)) ends in a conv that adds s(x) in its epilogue (or, where
 * nothing was fused, in an add). s is the identity, or a 1x1 projection conv where the shape changes (in
 * ResNet-D an average pool, then the conv).
 * Deleting the block leaves y = relu(s(x)): for an identity shortcut that is x itself (a ReLU output, so
 * relu(x) = x) and the block's readers read x, with no kernel at all; for a projection the projection
 * conv takes the block's ReLU and writes the block's output. Nodes nobody reads any more are dropped.
 *
 * Names follow torchvision: `layerS.B`, stage S from 1 (a stage is a run of blocks with one output
 * shape), block B from 0 within it. In the Keras ResNet-50 `layer3.2` is res4c (stage S + 1, letter B).
 */
import { GraphError } from '../errors.js';
import type { Shape } from '../ir/tensor.js';
import { type Conv2dNode, type GraphNode, inputsOf, withInputs } from '../operators/index.js';
import type { Graph } from './graph.js';

export interface ResidualBlock {
  /** `layerS.B`. */
  name: string;
  stage: number;
  index: number;
  /** Tensors: the block's input x and its output y. */
  input: string;
  output: string;
  inputShape: Shape;
  outputShape: Shape;
  /** The node that ends the block (the conv with the fused add, or the add). */
  end: string;
  /** The projection shortcut's conv node, where the block changes shape; undefined for an identity shortcut. */
  projection?: string;
  /** The nodes on the residual branch F (what deleting the block removes), in order; the source layers' names. */
  layers: string[];
}

/** Whether `tensor` is known to be >= 0 everywhere: a ReLU output, or a max pool of one. */
function nonNegative(tensor: string, made: Map<string, GraphNode>): boolean {
  const node = made.get(tensor);
  if (!node) return false;
  if ((node.op === 'conv2d' || node.op === 'dense' || node.op === 'add') && node.relu) return true;
  if (node.op === 'relu' || node.op === 'softmax') return true;
  return node.op === 'maxpool' && nonNegative(node.input, made);
}

/**
 * The branch from `x` to `main` (the nodes `main` depends on, back to `x`), or undefined when some path
 * from `main` goes back past `x` (to the graph input): then `x` is not where this branch starts.
 */
function branch(graph: Graph, x: string, main: string, made: Map<string, GraphNode>): GraphNode[] | undefined {
  const found = new Set<GraphNode>();
  const stack = [main];
  while (stack.length) {
    const t = stack.pop()!;
    if (t === x) continue;
    const node = made.get(t);
    if (!node) return undefined; // the graph input: a path that does not pass through x
    if (found.has(node)) continue;
    found.add(node);
    stack.push(...inputsOf(node));
  }
  return graph.nodes.filter((n) => found.has(n));
}

/** A 1x1 projection shortcut's conv: no residual of its own, no ReLU. */
const isProjectionConv = (node: GraphNode | undefined): node is Conv2dNode =>
  node?.op === 'conv2d' && !node.residual && !node.relu;

/** The residual blocks of an optimized graph, in order. Blocks that do not have the shape above are not listed. */
export function residualBlocks(graph: Graph): ResidualBlock[] {
  const made = new Map(graph.nodes.map((n) => [n.output, n]));
  const uses = new Map<string, number>();
  for (const n of graph.nodes) for (const i of inputsOf(n)) uses.set(i, (uses.get(i) ?? 0) + 1);
  const blocks: Array<Omit<ResidualBlock, 'name' | 'stage' | 'index'>> = [];
  for (const end of graph.nodes) {
    // [main input, shortcut] pairs to try: a fused conv holds the shortcut second; an add, either one.
    let pairs: Array<[string, string]>;
    if (end.op === 'conv2d' && end.residual) pairs = [[end.input, end.residual]];
    else if (end.op === 'add') {
      pairs = [
        [end.input, end.addend],
        [end.addend, end.input],
      ];
    } else continue;
    for (const [main, shortcut] of pairs) {
      const proj = made.get(shortcut);
      const isProjection = isProjectionConv(proj) && uses.get(shortcut) === 1;
      // ResNet-D pools before its projection: the pool is the shortcut's too, x what it reads
      const pool = isProjection ? made.get(proj.input) : undefined;
      const pooled = pool?.op === 'avgpool' && uses.get(proj!.input) === 1;
      const x = isProjection ? (pooled ? pool.input : proj.input) : shortcut;
      if (!isProjection && !nonNegative(x, made)) continue; // relu(x) = x is what an identity skip relies on
      const nodes = end.op === 'conv2d' ? branch(graph, x, main, made)?.concat(end) : branch(graph, x, main, made);
      if (!nodes || nodes.length === 0) continue;
      blocks.push({
        input: x,
        output: end.output,
        inputShape: graph.shapes.get(x)!,
        outputShape: graph.shapes.get(end.output)!,
        end: end.name,
        projection: isProjection ? proj.name : undefined,
        layers: nodes.map((n) => n.name),
      });
      break;
    }
  }
  let stage = 0,
    index = 0,
    previous = '';
  return blocks.map((b) => {
    const shape = b.outputShape.join('x');
    if (shape !== previous) {
      stage++;
      index = 0;
      previous = shape;
    } else {
      index++;
    }
    return { name: `layer${stage}.${index}`, stage, index, ...b };
  });
}

/**
 * `graph` with the named blocks deleted (see above). Nodes that do not change are shared with `graph`
 * (so are all weights); the projection conv of a deleted block is a copy with the block's ReLU and output.
 */
export function skipBlocks(graph: Graph, blocks: readonly ResidualBlock[], names: readonly string[]): Graph {
  const byName = new Map(blocks.map((b) => [b.name, b]));
  const rename = new Map<string, string>(); // a deleted identity block's output -> its input
  const replaced = new Map<string, GraphNode | undefined>(); // node name -> its replacement (undefined: dropped)
  for (const name of names) {
    const block = byName.get(name);
    if (!block)
      throw new GraphError(`no residual block ${name} (blocks: ${blocks.map((b) => b.name).join(', ') || 'none'})`);
    const end = graph.nodes.find((n) => n.name === block.end)!;
    if (block.projection) {
      const proj = graph.nodes.find((n) => n.name === block.projection)!;
      replaced.set(proj.name, undefined);
      replaced.set(end.name, { ...proj, output: block.output, relu: 'relu' in end && end.relu } as GraphNode);
    } else {
      replaced.set(end.name, undefined);
      rename.set(block.output, block.input);
    }
  }
  const resolve = (t: string): string => {
    while (rename.has(t)) t = rename.get(t)!;
    return t;
  };
  const nodes: GraphNode[] = [];
  for (const node of graph.nodes) {
    const n = replaced.has(node.name) ? replaced.get(node.name) : node;
    if (!n) continue;
    nodes.push(withInputs(n, resolve));
  }
  const output = resolve(graph.output);
  // Keep what the output still needs.
  const made = new Map(nodes.map((n) => [n.output, n]));
  const live = new Set<GraphNode>();
  const stack = [output];
  while (stack.length) {
    const node = made.get(stack.pop()!);
    if (!node || live.has(node)) continue;
    live.add(node);
    stack.push(...inputsOf(node));
  }
  const kept = nodes.filter((n) => live.has(n));
  const tensors = new Set([graph.input, ...kept.map((n) => n.output)]);
  const shapes = new Map([...graph.shapes].filter(([t]) => tensors.has(t)));
  return { name: graph.name, input: graph.input, output, shapes, nodes: kept };
}

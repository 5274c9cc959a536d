/**
 * A classification head: a dense layer on a network's pooled features, logits = features W + b, and the
 * names of its classes. Heads come from training (src/train/trainer.ts), from a head-only file (a few
 * kilobytes: apply it to any base with the same features; src/loaders/head-file.ts) or from a whole
 * model's classifier; a graph takes one in place of its own classifier (graphWithHead), before planning.
 */
import { InputError } from '../errors.js';
import { type DenseNode, dense, type GraphNode, inferShape, inputsOf, withInputs } from '../operators/index.js';
import { classifierHead, type Graph } from './graph.js';

export interface Head {
  /** One name per class. */
  labels: readonly string[];
  /** [features][classes] (the engine's dense layout: row f, column c). */
  weights: Float32Array;
  bias: Float32Array;
}

/** Features a head reads (its rows). */
export const headFeatures = (head: Head): number => head.weights.length / head.labels.length;

/** A head's shape checked: labels, weights and bias agree, every value finite. */
export function checkHead(head: Head): Head {
  const c = head.labels.length;
  if (!Array.isArray(head.labels) || c < 2 || head.labels.some((l) => typeof l !== 'string' || !l)) {
    throw new InputError('a head needs at least 2 class labels, each a non-empty string');
  }
  if (new Set(head.labels).size !== c) {
    const twice = head.labels.filter((l, i) => head.labels.indexOf(l) !== i);
    throw new InputError(`a head's labels must differ: ${twice.join(', ')} appears twice`);
  }
  if (!(head.bias instanceof Float32Array) || head.bias.length !== c) {
    throw new InputError(`a head's bias holds ${head.bias?.length} values for ${c} labels`);
  }
  if (!(head.weights instanceof Float32Array) || head.weights.length % c !== 0 || head.weights.length === 0) {
    throw new InputError(`a head's weights hold ${head.weights?.length} values, not a multiple of its ${c} labels`);
  }
  if (![...head.weights, ...head.bias].every(Number.isFinite)) {
    throw new InputError("a head's weights and bias must be finite");
  }
  return head;
}

/**
 * `graph` with its classifier (the dense layer after the last global average pool) replaced by `head`,
 * named `name` (so its weights on the GPU never take the original's name). The head must read as many
 * features as the pool gives; what reads the classifier (a softmax) reads the head, its shape inferred again.
 */
export function graphWithHead(graph: Graph, head: Head, name = 'head'): Graph {
  const { pool, dense: classifier } = classifierHead(graph.nodes);
  if (!pool || !classifier) {
    throw new InputError(
      `${graph.name} does not end in a global average pool and one dense layer, so it takes no head`,
    );
  }
  const features = graph.shapes.get(pool.output)![2];
  if (headFeatures(head) !== features) {
    const why = `this head reads ${headFeatures(head)} features; the network gives ${features} (${graph.name})`;
    throw new InputError(`${why}: train the head on this base`);
  }
  const replacement: DenseNode = dense(name, classifier.input, {
    weights: head.weights,
    bias: head.bias,
    units: head.labels.length,
  });
  const renamed = (t: string) => (t === classifier.output ? name : t);
  const nodes = graph.nodes.map((n): GraphNode => (n === classifier ? replacement : withInputs(n, renamed)));
  const shapes = new Map(graph.shapes);
  shapes.delete(classifier.output);
  // the head's output and what reads it (a softmax) take the head's number of classes
  const changed = new Set([name]);
  shapes.set(name, [1, 1, head.labels.length]);
  for (const n of nodes) {
    const inputs = inputsOf(n);
    if (n === replacement || !inputs.some((t) => changed.has(t))) continue;
    shapes.set(
      n.output,
      inferShape(
        n,
        inputs.map((t) => shapes.get(t)!),
      ),
    );
    changed.add(n.output);
  }
  const output = renamed(graph.output);
  return { ...graph, nodes, shapes, output, declared: { ...graph.declared, labels: [...head.labels] } };
}

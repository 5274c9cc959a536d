/**
 * A classification head: a dense layer on a network's pooled features, logits = features W + b, and the
 * names of its classes. Heads come from training (src/train/trainer.ts), from a head-only file (a few
 * kilobytes: apply it to any base with the same features) or from a whole model's classifier; a graph
 * takes one in place of its own classifier (graphWithHead), before planning.
 */
import { InputError, ModelFormatError } from '../errors.js';
import { writeSafetensors } from '../export/safetensors.js';
import { classifierHead, type DenseNode, type Graph, type GraphNode } from '../graph/ir.js';
import { HEAD_FORMAT, SafetensorsFile } from '../loaders/safetensors.js';

export { HEAD_FORMAT };
import { permute, TRANSPOSE } from '../util/layout.js';

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
  if (!Array.isArray(head.labels) || c < 2 || head.labels.some((l) => typeof l !== 'string' || !l))
    throw new InputError('a head needs at least 2 class labels, each a non-empty string');
  if (new Set(head.labels).size !== c)
    throw new InputError(
      `a head's labels must differ: ${head.labels.filter((l, i) => head.labels.indexOf(l) !== i).join(', ')} appears twice`,
    );
  if (!(head.bias instanceof Float32Array) || head.bias.length !== c)
    throw new InputError(`a head's bias holds ${head.bias?.length} values for ${c} labels`);
  if (!(head.weights instanceof Float32Array) || head.weights.length % c !== 0 || head.weights.length === 0)
    throw new InputError(`a head's weights hold ${head.weights?.length} values, not a multiple of its ${c} labels`);
  if (![...head.weights, ...head.bias].every(Number.isFinite))
    throw new InputError("a head's weights and bias must be finite");
  return head;
}

/**
 * `graph` with its classifier (the dense layer after the last global average pool) replaced by `head`,
 * named `name` (so its weights on the GPU never take the original's name). The head must read as many
 * features as the pool gives.
 */
export function graphWithHead(graph: Graph, head: Head, name = 'head'): Graph {
  const { pool, dense } = classifierHead(graph.nodes);
  if (!pool || !dense)
    throw new InputError(
      `${graph.name} does not end in a global average pool and one dense layer, so it takes no head`,
    );
  const features = graph.shapes.get(pool.output)![2];
  if (headFeatures(head) !== features)
    throw new InputError(
      `this head reads ${headFeatures(head)} features; the network gives ${features} (${graph.name}): train the head on this base`,
    );
  const classes = head.labels.length;
  const replacement: DenseNode = {
    op: 'dense',
    name,
    inputs: [...dense.inputs],
    output: name,
    weights: head.weights,
    bias: head.bias,
    relu: false,
  };
  const nodes = graph.nodes.map(
    (n): GraphNode =>
      n === dense
        ? replacement
        : n.inputs.includes(dense.output)
          ? ({ ...n, inputs: n.inputs.map((i) => (i === dense.output ? name : i)) } as GraphNode)
          : n,
  );
  const shapes = new Map(graph.shapes);
  shapes.delete(dense.output);
  shapes.set(name, [1, 1, classes]);
  // what reads the head (a softmax) changes size with it
  for (const n of nodes) if (n.op === 'softmax' && n.inputs[0] === name) shapes.set(n.output, [1, 1, classes]);
  const output = graph.output === dense.output ? name : graph.output;
  return { ...graph, nodes, shapes, output, declared: { ...graph.declared, labels: [...head.labels] } };
}

/** A head-only file: fc.weight [classes][features] (PyTorch's layout), fc.bias, and the labels. */
export function headToSafetensors(head: Head, base?: string): Uint8Array {
  checkHead(head);
  const c = head.labels.length;
  const f = headFeatures(head);
  return writeSafetensors(
    [
      { name: 'fc.weight', shape: [c, f], data: permute(head.weights, [f, c], TRANSPOSE) },
      { name: 'fc.bias', shape: [c], data: head.bias },
    ],
    { format: HEAD_FORMAT, labels: JSON.stringify(head.labels), features: String(f), ...(base && { base }) },
  );
}

/** Whether safetensors bytes are a head-only file (its metadata says so). */
export function isHeadFile(file: SafetensorsFile): boolean {
  return file.metadata.format === HEAD_FORMAT;
}

/** The head of a head-only file. */
export function headFromSafetensors(bytes: Uint8Array, where: string): Head {
  const file = new SafetensorsFile(bytes, where);
  if (!isHeadFile(file))
    throw new ModelFormatError(
      `${where}: not a head file (its __metadata__ format is ${JSON.stringify(file.metadata.format)}, not ${HEAD_FORMAT})`,
    );
  let labels: unknown;
  try {
    labels = JSON.parse(file.metadata.labels ?? '');
  } catch {
    throw new ModelFormatError(`${where}: __metadata__ labels is not valid JSON`);
  }
  const bias = file.get('fc.bias');
  if (!Array.isArray(labels) || labels.length !== bias.length)
    throw new ModelFormatError(`${where}: __metadata__ labels must be a JSON array of ${bias.length} strings`);
  const f = Number(file.metadata.features);
  const weights = permute(file.get('fc.weight', [bias.length, f]), [bias.length, f], TRANSPOSE);
  try {
    return checkHead({ labels: labels as string[], weights, bias });
  } catch (err) {
    throw new ModelFormatError(`${where}: ${(err as Error).message}`);
  }
}

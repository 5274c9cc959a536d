/** ONNX in the tests: edits of files written by src/export/onnx.ts, and onnxruntime-node as the reference. */
import { graphToOnnx } from '../../src/export/onnx.js';
import type { Graph } from '../../src/graph/graph.js';
import { ModelProto } from '../../src/onnx/schema.js';
import type { GraphNode } from '../../src/operators/index.js';

/** `onnx` with one more node of type `opType` (named "extra") after the graph's output, which it becomes. */
export function appendNode(onnx: Uint8Array, opType: string): Uint8Array {
  const model = ModelProto.toObject(ModelProto.decode(onnx), { arrays: true }) as {
    graph: { node: object[]; output: Array<{ name: string }> };
  };
  const last = model.graph.output[0]!;
  model.graph.node.push({ name: 'extra', opType, input: [last.name], output: ['extra_out'] });
  last.name = 'extra_out';
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/**
 * onnxruntime-node running `graph` exported by graphToOnnx, on NCHW `input` of `batch` images of
 * [3, height, width]: the logits (the graph's output without its softmax), or with `output`, that tensor.
 * The independent reference the engine is checked against.
 */
export async function ortRun(
  graph: Graph,
  input: Float32Array,
  options: { batch?: number; size?: [number, number]; output?: string } = {},
): Promise<Float32Array> {
  const { batch = 1, size: [h, w] = [224, 224], output } = options;
  const ort = await import('onnxruntime-node');
  const onnx = output
    ? graphToOnnx({ ...graph, output }, { producer: 'webgpu-resnet tests' })
    : graphToOnnx(graph, { softmax: false, producer: 'webgpu-resnet tests' });
  const session = await ort.InferenceSession.create(onnx);
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 3, h, w]) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** The raw graph with each named block's output ReLU reading the shortcut (the block deleted by hand; its add and F become dead). */
export function lesionRaw(graph: Graph, names: string[]): Graph {
  const nodes = graph.nodes.map((n): GraphNode => {
    const block = names.find((p) => n.name === `${p}.relu`);
    if (!block) return n;
    const add = graph.nodes.find((a) => a.name === `${block}.add`)!;
    if (add.op !== 'add' || n.op !== 'relu') throw new Error(`${block}: not a raw block's add + relu`);
    return { ...n, input: add.addend }; // add(y, shortcut)
  });
  return { ...graph, nodes };
}

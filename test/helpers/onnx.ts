/** Test-only edits of ONNX files written by src/export/onnx.ts. */
import { ModelProto } from '../../src/loaders/onnx-schema.js';

/** `onnx` with one more node of type `opType` (named "extra") after the graph's output, which it becomes. */
export function appendNode(onnx: Uint8Array, opType: string): Uint8Array {
  const model = ModelProto.toObject(ModelProto.decode(onnx), { arrays: true }) as { graph: { node: object[]; output: Array<{ name: string }> } };
  const last = model.graph.output[0]!;
  model.graph.node.push({ name: 'extra', opType, input: [last.name], output: ['extra_out'] });
  last.name = 'extra_out';
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

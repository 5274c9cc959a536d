/**
 * The tests' own ONNX writer: turns a raw (unfused) ResNet graph from the architecture builder, plus the
 * torchvision parameters it was built from, into an ONNX model (opset 17) the way torch.onnx exports one:
 * Conv (OIHW weights), BatchNormalization, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm (transB).
 * onnxruntime then runs it independently of the engine.
 */
import type { Graph } from '../../src/graph/ir.js';
import { ModelProto, ONNX_FLOAT } from '../../src/loaders/onnx-schema.js';

type Param = { name: string; shape: number[]; data: Float32Array };

export function writeOnnx(graph: Graph, params: Param[], options: { opset?: number; extraNode?: { opType: string } } = {}): Uint8Array {
  const byName = new Map(params.map((p) => [p.name, p]));
  const initializer: object[] = [];
  const use = (name: string) => {
    const p = byName.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    initializer.push({ name, dims: p.shape, dataType: ONNX_FLOAT, rawData: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength) });
    return name;
  };
  const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
  const nodes: object[] = [];
  let output = '';
  for (const n of graph.nodes) {
    switch (n.op) {
      case 'conv2d':
        nodes.push({ name: n.name, opType: 'Conv', input: [n.inputs[0], use(`${n.name}.weight`)], output: [n.output], attribute: [ints('kernel_shape', n.kernel), ints('strides', n.strides), ints('pads', n.pads)] });
        break;
      case 'batchnorm':
        nodes.push({ name: n.name, opType: 'BatchNormalization', input: [n.inputs[0], use(`${n.name}.weight`), use(`${n.name}.bias`), use(`${n.name}.running_mean`), use(`${n.name}.running_var`)], output: [n.output], attribute: [{ name: 'epsilon', type: 1, f: n.epsilon }] });
        break;
      case 'relu':
        nodes.push({ name: n.name, opType: 'Relu', input: n.inputs, output: [n.output] });
        break;
      case 'add':
        nodes.push({ name: n.name, opType: 'Add', input: n.inputs, output: [n.output] });
        break;
      case 'maxpool':
        nodes.push({ name: n.name, opType: 'MaxPool', input: n.inputs, output: [n.output], attribute: [ints('kernel_shape', n.size), ints('strides', n.strides), ints('pads', n.pads)] });
        break;
      case 'globalavgpool':
        nodes.push({ name: n.name, opType: 'GlobalAveragePool', input: n.inputs, output: [`${n.output}.4d`] });
        nodes.push({ name: `${n.name}.flatten`, opType: 'Flatten', input: [`${n.output}.4d`], output: [n.output], attribute: [{ name: 'axis', type: 2, i: 1 }] });
        break;
      case 'dense':
        nodes.push({ name: n.name, opType: 'Gemm', input: [n.inputs[0], use('fc.weight'), use('fc.bias')], output: [n.output], attribute: [{ name: 'transB', type: 2, i: 1 }] });
        output = n.output;
        break;
      case 'softmax':
        break; // torchvision models output logits
      default:
        throw new Error(`writeOnnx: no ONNX node for ${n.op}`);
    }
  }
  if (options.extraNode) nodes.push({ name: 'extra', opType: options.extraNode.opType, input: [output], output: ['extra_out'] });
  const [h, w, c] = graph.shapes.get(graph.input)!;
  const model = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'webgpu-resnet tests',
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    graph: {
      name: graph.name,
      node: nodes,
      initializer,
      input: [{ name: graph.input, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: c }, { dimValue: h }, { dimValue: w }] } } } }],
      output: [{ name: options.extraNode ? 'extra_out' : output, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1000 }] } } } }],
    },
  });
  return ModelProto.encode(model).finish();
}

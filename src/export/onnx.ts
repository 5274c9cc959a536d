/**
 * Graph IR -> ONNX model (opset 17), the way the usual exporters write a ResNet: Conv (OIHW weights),
 * BatchNormalization, Relu, Add, Pad, MaxPool, GlobalAveragePool + Flatten, Gemm (transB), Softmax.
 * Tooling, not part of the inference path: the bench gives ONNX Runtime Web the same network the engine
 * runs (from the Keras model), and the tests write torchvision-style files for onnxruntime and the loader.
 * Export the raw graph (before the engine's passes) to give the other runtime the whole network to fuse.
 * Parameter names follow PyTorch's state_dict: `<node>.weight`, `.bias`, `.running_mean`, `.running_var`.
 */
import type { Graph } from '../graph/ir.js';
import { ModelProto, ONNX_FLOAT } from '../loaders/onnx-schema.js';

const ONNX_INT64 = 7;

export interface OnnxExportOptions {
  /** Layout of the model's input: 'nchw' (PyTorch) or 'nhwc' (TensorFlow: a Transpose follows the input). Default 'nchw'. */
  inputLayout?: 'nchw' | 'nhwc';
  /** Keep a final softmax (Keras models end in one; torchvision's output logits). Default true. */
  softmax?: boolean;
  opset?: number;
  producer?: string;
  /** Appends one more node of this type after the output (tests of unsupported operators). */
  extraNode?: { opType: string };
}

/** HWIO [kh][kw][cin][cout] -> OIHW [cout][cin][kh][kw]. */
function hwioToOihw(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o]!;
  }
  return out;
}

export function graphToOnnx(graph: Graph, options: OnnxExportOptions = {}): Uint8Array {
  const initializer: object[] = [];
  const param = (name: string, dims: number[], data: Float32Array) => {
    initializer.push({ name, dims, dataType: ONNX_FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const int64s = (name: string, values: number[]) => {
    initializer.push({ name, dims: [values.length], dataType: ONNX_INT64, int64Data: values });
    return name;
  };
  const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
  const int = (name: string, i: number) => ({ name, type: 2, i });
  // ONNX pads are [begin H, begin W, end H, end W]; the IR's are [top, left, bottom, right].
  const onnxPads = (p: [number, number, number, number]) => [p[0], p[1], p[2], p[3]];
  const nodes: object[] = [];
  const renamed = new Map<string, string>(); // IR tensor -> ONNX name, where a node takes an extra step
  const name = (id: string) => renamed.get(id) ?? id;
  /** A zero Pad node over H and W (ONNX pads: begins of N, C, H, W, then their ends); returns its output. */
  const pad = (name: string, input: string, output: string, [t, l, b, r]: [number, number, number, number]) => {
    nodes.push({ name, opType: 'Pad', input: [input, int64s(`${name}.pads`, [0, 0, t, l, 0, 0, b, r])], output: [output] });
    return output;
  };
  const withRelu = (nodeName: string, output: string, relu: boolean) => {
    if (!relu) return output;
    nodes.push({ name: `${nodeName}.relu`, opType: 'Relu', input: [`${output}.pre_relu`], output: [output] });
    return `${output}.pre_relu`;
  };
  if (options.inputLayout === 'nhwc') {
    nodes.push({ name: 'input_to_nchw', opType: 'Transpose', input: [graph.input], output: [`${graph.input}.nchw`], attribute: [ints('perm', [0, 3, 1, 2])] });
    renamed.set(graph.input, `${graph.input}.nchw`);
  }
  let output = graph.output;
  for (const n of graph.nodes) {
    const inputs = n.inputs.map(name);
    switch (n.op) {
      case 'conv2d': {
        const cin = graph.shapes.get(n.inputs[0]!)![2];
        const cout = n.bias.length;
        if (n.inputs.length > 1) throw new Error(`graphToOnnx: ${n.name} has a fused residual; export the graph before the engine's passes`);
        const args = [inputs[0]!, param(`${n.name}.weight`, [cout, cin, ...n.kernel], hwioToOihw(n.weights, n.kernel[0], n.kernel[1], cin, cout))];
        if (n.bias.some((v) => v !== 0)) args.push(param(`${n.name}.bias`, [cout], n.bias));
        const out = withRelu(n.name, n.output, n.relu);
        nodes.push({ name: n.name, opType: 'Conv', input: args, output: [out], attribute: [ints('kernel_shape', n.kernel), ints('strides', n.strides), ints('pads', onnxPads(n.pads))] });
        break;
      }
      case 'batchnorm':
        nodes.push({
          name: n.name, opType: 'BatchNormalization', output: [n.output], attribute: [{ name: 'epsilon', type: 1, f: n.epsilon }],
          input: [inputs[0], param(`${n.name}.weight`, [n.gamma.length], n.gamma), param(`${n.name}.bias`, [n.beta.length], n.beta),
            param(`${n.name}.running_mean`, [n.mean.length], n.mean), param(`${n.name}.running_var`, [n.variance.length], n.variance)],
        });
        break;
      case 'relu':
        nodes.push({ name: n.name, opType: 'Relu', input: inputs, output: [n.output] });
        break;
      case 'add':
        nodes.push({ name: n.name, opType: 'Add', input: inputs, output: [withRelu(n.name, n.output, n.relu)] });
        break;
      case 'pad':
        pad(n.name, inputs[0]!, n.output, n.pads);
        break;
      case 'maxpool': {
        let x = inputs[0]!;
        let pads = n.pads;
        if (n.padValue === 'zero' && pads.some((p) => p > 0)) {
          x = pad(`${n.name}.pad`, x, `${n.output}.padded`, pads);
          pads = [0, 0, 0, 0];
        }
        nodes.push({ name: n.name, opType: 'MaxPool', input: [x], output: [n.output], attribute: [ints('kernel_shape', n.size), ints('strides', n.strides), ints('pads', onnxPads(pads))] });
        break;
      }
      case 'globalavgpool':
        nodes.push({ name: n.name, opType: 'GlobalAveragePool', input: inputs, output: [`${n.output}.4d`] });
        nodes.push({ name: `${n.name}.flatten`, opType: 'Flatten', input: [`${n.output}.4d`], output: [n.output], attribute: [int('axis', 1)] });
        break;
      case 'dense': {
        const inF = n.weights.length / n.bias.length;
        const out = n.bias.length;
        const w = new Float32Array(n.weights.length); // [in][out] -> [out][in]
        for (let i = 0; i < inF; i++) for (let o = 0; o < out; o++) w[o * inF + i] = n.weights[i * out + o]!;
        nodes.push({ name: n.name, opType: 'Gemm', input: [inputs[0], param(`${n.name}.weight`, [out, inF], w), param(`${n.name}.bias`, [out], n.bias)], output: [withRelu(n.name, n.output, n.relu)], attribute: [int('transB', 1)] });
        break;
      }
      case 'softmax':
        if (options.softmax === false) output = n.inputs[0]!;
        else nodes.push({ name: n.name, opType: 'Softmax', input: inputs, output: [n.output], attribute: [int('axis', -1)] });
        break;
      default:
        throw new Error(`graphToOnnx: no ONNX node for ${(n as { op: string }).op}`);
    }
  }
  if (options.extraNode) {
    nodes.push({ name: 'extra', opType: options.extraNode.opType, input: [output], output: ['extra_out'] });
    output = 'extra_out';
  }
  const [h, w, c] = graph.shapes.get(graph.input)!;
  const classes = graph.shapes.get(graph.output)![2];
  const dims = options.inputLayout === 'nhwc' ? [h, w, c] : [c, h, w];
  const model = ModelProto.fromObject({
    irVersion: 8,
    producerName: options.producer ?? 'webgpu-resnet',
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    graph: {
      name: graph.name,
      node: nodes,
      initializer,
      input: [{ name: graph.input, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, ...dims.map((d) => ({ dimValue: d }))] } } } }],
      output: [{ name: output, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: classes }] } } } }],
    },
  });
  return ModelProto.encode(model).finish();
}

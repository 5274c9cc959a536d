/**
 * Graph IR -> ONNX model (opset 17), the way the usual exporters write a ResNet: Conv (OIHW weights),
 * BatchNormalization, Relu, Add, Pad, MaxPool, GlobalAveragePool + Flatten, Gemm (transB), Softmax.
 * Tooling, not part of the inference path: the bench gives ONNX Runtime Web the same network the engine
 * runs (from the Keras model), and the tests write torchvision-style files for onnxruntime and the loader.
 * Any graph exports, as loaded or after the engine's passes (a conv with a fused residual becomes Conv +
 * Add); the raw graph gives the other runtime the whole network to fuse its own way.
 * Parameter names follow PyTorch's state_dict: `<node>.weight`, `.bias`, `.running_mean`, `.running_var`.
 */
import type { Graph, GraphNode, Pads } from '../graph/ir.js';
import { ModelProto, ONNX_FLOAT, ONNX_INT64 } from '../loaders/onnx-schema.js';
import { HWIO_TO_OIHW, permute, TRANSPOSE } from '../util/layout.js';

export interface OnnxExportOptions {
  /** Layout of the model's input: 'nchw' (PyTorch) or 'nhwc' (TensorFlow: a Transpose follows the input). Default 'nchw'. */
  inputLayout?: 'nchw' | 'nhwc';
  /** Keep a final softmax (Keras models end in one; torchvision's output logits). Default true. */
  softmax?: boolean;
  opset?: number;
  producer?: string;
  /** metadata_props, e.g. { preprocessing: 'caffe' } (read back by the engine's ONNX loader). */
  metadata?: Record<string, string>;
}

const ints = (name: string, v: readonly number[]) => ({ name, type: 7, ints: v });
const int = (name: string, i: number) => ({ name, type: 2, i });

/** The ONNX graph as it is written: its initializers and nodes, and the IR tensors renamed on the way. */
class OnnxWriter {
  readonly initializer: object[] = [];
  readonly nodes: object[] = [];
  /** IR tensor -> ONNX name, where a node takes an extra step. */
  readonly renamed = new Map<string, string>();

  name(id: string): string {
    return this.renamed.get(id) ?? id;
  }
  param(name: string, dims: number[], data: Float32Array): string {
    this.initializer.push({
      name,
      dims,
      dataType: ONNX_FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }
  int64s(name: string, values: number[]): string {
    this.initializer.push({ name, dims: [values.length], dataType: ONNX_INT64, int64Data: values });
    return name;
  }
  /** A zero Pad node over H and W (ONNX pads: begins of N, C, H, W, then their ends); returns its output. */
  pad(name: string, input: string, output: string, [t, l, b, r]: Pads): string {
    this.nodes.push({
      name,
      opType: 'Pad',
      input: [input, this.int64s(`${name}.pads`, [0, 0, t, l, 0, 0, b, r])],
      output: [output],
    });
    return output;
  }
  /** Pushes `node` so that `output` ends up holding its result plus `residual` (an Add), then a Relu where asked. */
  emit(
    node: { name: string; opType: string; input: string[]; attribute?: object[] },
    output: string,
    residual?: string,
    relu = false,
  ): void {
    let x = residual || relu ? `${output}.${node.opType.toLowerCase()}` : output;
    this.nodes.push({ ...node, output: [x] });
    if (residual) {
      const sum = relu ? `${output}.add` : output;
      this.nodes.push({ name: `${node.name}.add`, opType: 'Add', input: [x, residual], output: [sum] });
      x = sum;
    }
    if (relu) this.nodes.push({ name: `${node.name}.relu`, opType: 'Relu', input: [x], output: [output] });
  }
}

/** What writing one node needs: the writer, the graph (for shapes) and the node's inputs as ONNX names. */
type NodeWriter<N extends GraphNode> = (w: OnnxWriter, n: N, inputs: string[], graph: Graph) => void;

// ONNX pads are [begin H, begin W, end H, end W]: the IR's [top, left, bottom, right] as they are.
const WRITERS: { [Op in Exclude<GraphNode['op'], 'softmax'>]: NodeWriter<Extract<GraphNode, { op: Op }>> } = {
  conv2d(w, n, inputs, graph) {
    const cin = graph.shapes.get(n.inputs[0]!)![2];
    const cout = n.bias.length;
    const [kh, kw] = n.kernel;
    const args = [
      inputs[0]!,
      w.param(`${n.name}.weight`, [cout, cin, kh, kw], permute(n.weights, [kh, kw, cin, cout], HWIO_TO_OIHW)),
    ];
    if (n.bias.some((v) => v !== 0)) args.push(w.param(`${n.name}.bias`, [cout], n.bias));
    const attribute = [ints('kernel_shape', n.kernel), ints('strides', n.strides), ints('pads', n.pads)];
    w.emit({ name: n.name, opType: 'Conv', input: args, attribute }, n.output, inputs[1], n.relu);
  },
  batchnorm(w, n, inputs) {
    w.nodes.push({
      name: n.name,
      opType: 'BatchNormalization',
      output: [n.output],
      attribute: [{ name: 'epsilon', type: 1, f: n.epsilon }],
      input: [
        inputs[0],
        w.param(`${n.name}.weight`, [n.gamma.length], n.gamma),
        w.param(`${n.name}.bias`, [n.beta.length], n.beta),
        w.param(`${n.name}.running_mean`, [n.mean.length], n.mean),
        w.param(`${n.name}.running_var`, [n.variance.length], n.variance),
      ],
    });
  },
  relu: (w, n, inputs) => void w.nodes.push({ name: n.name, opType: 'Relu', input: inputs, output: [n.output] }),
  add: (w, n, inputs) => w.emit({ name: n.name, opType: 'Add', input: inputs }, n.output, undefined, n.relu),
  pad: (w, n, inputs) => void w.pad(n.name, inputs[0]!, n.output, n.pads),
  maxpool(w, n, inputs) {
    let x = inputs[0]!;
    let pads = n.pads;
    if (n.padValue === 'zero' && pads.some((p) => p > 0)) {
      x = w.pad(`${n.name}.pad`, x, `${n.output}.padded`, pads);
      pads = [0, 0, 0, 0];
    }
    w.nodes.push({
      name: n.name,
      opType: 'MaxPool',
      input: [x],
      output: [n.output],
      attribute: [ints('kernel_shape', n.size), ints('strides', n.strides), ints('pads', pads)],
    });
  },
  globalavgpool(w, n, inputs) {
    w.nodes.push({ name: n.name, opType: 'GlobalAveragePool', input: inputs, output: [`${n.output}.4d`] });
    w.nodes.push({
      name: `${n.name}.flatten`,
      opType: 'Flatten',
      input: [`${n.output}.4d`],
      output: [n.output],
      attribute: [int('axis', 1)],
    });
  },
  dense(w, n, inputs) {
    const inF = n.weights.length / n.bias.length;
    const out = n.bias.length;
    const weights = permute(n.weights, [inF, out], TRANSPOSE); // [in][out] -> [out][in]
    w.emit(
      {
        name: n.name,
        opType: 'Gemm',
        input: [inputs[0]!, w.param(`${n.name}.weight`, [out, inF], weights), w.param(`${n.name}.bias`, [out], n.bias)],
        attribute: [int('transB', 1)],
      },
      n.output,
      undefined,
      n.relu,
    );
  },
};

export function graphToOnnx(graph: Graph, options: OnnxExportOptions = {}): Uint8Array {
  const w = new OnnxWriter();
  if (options.inputLayout === 'nhwc') {
    w.nodes.push({
      name: 'input_to_nchw',
      opType: 'Transpose',
      input: [graph.input],
      output: [`${graph.input}.nchw`],
      attribute: [ints('perm', [0, 3, 1, 2])],
    });
    w.renamed.set(graph.input, `${graph.input}.nchw`);
  }
  let output = graph.output;
  for (const n of graph.nodes) {
    const inputs = n.inputs.map((id) => w.name(id));
    if (n.op !== 'softmax') (WRITERS[n.op] as NodeWriter<GraphNode>)(w, n, inputs, graph);
    else if (options.softmax === false) output = n.inputs[0]!;
    else
      w.nodes.push({
        name: n.name,
        opType: 'Softmax',
        input: inputs,
        output: [n.output],
        attribute: [int('axis', -1)],
      });
  }
  const [h, wd, c] = graph.shapes.get(graph.input)!;
  const classes = graph.shapes.get(graph.output)![2];
  const dims = options.inputLayout === 'nhwc' ? [h, wd, c] : [c, h, wd];
  const model = ModelProto.fromObject({
    irVersion: 8,
    producerName: options.producer ?? 'webgpu-resnet',
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: w.nodes,
      initializer: w.initializer,
      input: [
        {
          name: graph.input,
          type: {
            tensorType: {
              elemType: ONNX_FLOAT,
              shape: { dim: [{ dimParam: 'N' }, ...dims.map((d) => ({ dimValue: d }))] },
            },
          },
        },
      ],
      output: [
        {
          name: output,
          type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: classes }] } } },
        },
      ],
    },
  });
  return ModelProto.encode(model).finish();
}

/**
 * Graph IR -> ONNX model (opset 17), the way the usual exporters write a ResNet: each node written by its
 * operator (src/operators/<op>.ts `toOnnx`: Conv with OIHW weights, BatchNormalization, Relu, Add, Pad,
 * MaxPool, GlobalAveragePool + Flatten, Gemm with transB, Softmax) into one OnnxWriter (src/onnx/writer.ts).
 * Tooling, not part of the inference path: the bench gives ONNX Runtime Web the same network the engine
 * runs (from the Keras model), and the tests write torchvision-style files for onnxruntime and the loader.
 * Any graph exports, as loaded or after the engine's passes (a conv with a fused residual becomes Conv +
 * Add); the raw graph gives the other runtime the whole network to fuse its own way.
 */
import type { Graph } from '../graph/graph.js';
import { inputsOf, operatorOf } from '../operators/index.js';
import { ModelProto, ONNX_FLOAT } from '../onnx/schema.js';
import { ints, OnnxWriter } from '../onnx/writer.js';

export interface OnnxExportOptions {
  /** Layout of the model's input: 'nchw' (PyTorch) or 'nhwc' (TensorFlow: a Transpose follows the input). Default
   * 'nchw'. */
  inputLayout?: 'nchw' | 'nhwc';
  /** Keep a final softmax (Keras models end in one; torchvision's output logits). Default true. */
  softmax?: boolean;
  opset?: number;
  producer?: string;
  /** metadata_props, e.g. { preprocessing: 'caffe' } (read back by the engine's ONNX loader). */
  metadata?: Record<string, string>;
}

export function graphToOnnx(graph: Graph, options: OnnxExportOptions = {}): Uint8Array {
  const w = new OnnxWriter();
  if (options.inputLayout === 'nhwc') {
    const transpose = {
      name: 'input_to_nchw',
      opType: 'Transpose',
      input: [graph.input],
      attribute: [ints('perm', [0, 3, 1, 2])],
    };
    w.push(transpose, `${graph.input}.nchw`);
    w.renamed.set(graph.input, `${graph.input}.nchw`);
  }
  let output = graph.output;
  for (const n of graph.nodes) {
    // without the final softmax: the logits are the output
    if (options.softmax === false && n.op === 'softmax' && n.output === graph.output) output = n.input;
    else
      operatorOf(n).toOnnx(
        w,
        n,
        inputsOf(n).map((t) => graph.shapes.get(t)!),
      );
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

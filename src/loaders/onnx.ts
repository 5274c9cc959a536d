/**
 * ONNX (opset >= 11) -> graph IR for ResNet-family graphs: Conv, BatchNormalization, Relu, Add, MaxPool,
 * AveragePool, GlobalAveragePool or ReduceMean over H and W, Flatten / Reshape to [N, C], Gemm or MatMul (+ Add bias),
 * Softmax, Identity / Dropout. Initializers as raw_data or typed fields (float, double, float16).
 * The input is NCHW [N, 3, H, W]; the engine runs NHWC, so weights are permuted at load. Any other
 * operator or attribute value is an error naming the node.
 */
import { GraphError, ModelFormatError } from '../errors.js';
import { type Graph, GraphBuilder } from '../graph/graph.js';
import { softmax } from '../operators/index.js';
import { halfToFloat } from '../util/half.js';
import { parsePreprocessing } from './declared-preprocessing.js';
import { finiteTensor } from './finite.js';
import {
  num,
  OnnxNodeContext,
  type Long,
  type OnnxGraphState,
  type OnnxNode,
  type OnnxTensor,
  type RawTensor,
} from './onnx-context.js';
import { ONNX_OPS } from './onnx-ops.js';
import { ModelProto, ONNX_DOUBLE, ONNX_FLOAT, ONNX_FLOAT16, ONNX_INT32, ONNX_INT64 } from '../onnx/schema.js';

function readTensor(t: RawTensor, where: string): OnnxTensor {
  const name = t.name ?? '(unnamed)';
  const dims = (t.dims ?? []).map((d) => num(d));
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1)
    throw new ModelFormatError(
      `${where}: initializer ${name} keeps its data in an external file; save the model with the weights inside`,
    );
  const raw = t.rawData?.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  let data: Float32Array | number[];
  switch (t.dataType) {
    case ONNX_FLOAT:
      if (view) {
        if (raw!.length !== count * 4)
          throw new ModelFormatError(
            `${where}: initializer ${name} holds ${raw!.length} bytes, shape [${dims}] needs ${count * 4}`,
          );
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
      } else data = Float32Array.from(t.floatData ?? []);
      break;
    case ONNX_DOUBLE:
      data = view
        ? Float32Array.from({ length: raw!.length / 8 }, (_, i) => view.getFloat64(8 * i, true))
        : Float32Array.from(t.doubleData ?? []);
      break;
    case ONNX_FLOAT16:
      data = view
        ? Float32Array.from({ length: raw!.length / 2 }, (_, i) => halfToFloat(view.getUint16(2 * i, true)))
        : Float32Array.from(t.int32Data ?? [], halfToFloat);
      break;
    case ONNX_INT64:
      data = view
        ? Array.from({ length: raw!.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)))
        : (t.int64Data ?? []).map((v) => num(v));
      break;
    case ONNX_INT32:
      data = view
        ? Array.from({ length: raw!.length / 4 }, (_, i) => view.getInt32(4 * i, true))
        : [...(t.int32Data ?? [])];
      break;
    default:
      throw new ModelFormatError(
        `${where}: initializer ${name} has ONNX data type ${t.dataType}; supported: float, double, float16 ` +
          `(weights), int64/int32 (shapes)`,
      );
  }
  if (data.length !== count)
    throw new ModelFormatError(
      `${where}: initializer ${name} holds ${data.length} values, shape [${dims}] needs ${count}`,
    );
  return { dims, data: data instanceof Float32Array ? finiteTensor(data, where, name) : data };
}

export function loadOnnxResNet(bytes: Uint8Array, where: string): Graph {
  let model: {
    metadataProps?: Array<{ key?: string; value?: string }>;
    irVersion?: number | Long;
    opsetImport?: Array<{ domain?: string; version?: number | Long }>;
    graph?: {
      node?: OnnxNode[];
      initializer?: RawTensor[];
      input?: Array<{
        name: string;
        type?: { tensorType?: { shape?: { dim?: Array<{ dimValue?: number | Long; dimParam?: string }> } } };
      }>;
      output?: Array<{ name: string }>;
      name?: string;
    };
  };
  try {
    model = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, arrays: true }) as typeof model;
  } catch (err) {
    throw new ModelFormatError(`${where}: not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph?.node?.length) throw new ModelFormatError(`${where}: no graph in this ONNX file`);
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = num(opset?.version);
  if (version < 11)
    throw new ModelFormatError(
      `${where}: opset ${version || 'missing'}; opset 11 or newer is supported (re-export with a newer opset)`,
    );

  const init = new Map<string, OnnxTensor>();
  for (const t of graph.initializer ?? []) init.set(t.name ?? '', readTensor(t, where));
  const inputs = (graph.input ?? []).filter((i) => !init.has(i.name));
  if (inputs.length !== 1)
    throw new ModelFormatError(
      `${where}: expected one graph input (an NCHW image batch), found ${inputs.length}: ` +
        `${inputs.map((i) => i.name).join(', ')}`,
    );
  const dims = inputs[0]!.type?.tensorType?.shape?.dim ?? [];
  const shape = dims.map((d) => num(d.dimValue, -1));
  if (shape.length !== 4 || shape.slice(1).some((d) => d <= 0)) {
    throw new ModelFormatError(
      `${where}: input ${inputs[0]!.name} has shape [${dims.map((d) => d.dimParam ?? num(d.dimValue, -1))}]; ` +
        `expected NCHW [N, C, H, W] with fixed C, H, W`,
    );
  }
  const b = new GraphBuilder(graph.name || 'onnx', inputs[0]!.name, [shape[2]!, shape[3]!, shape[1]!]);
  const state: OnnxGraphState = {
    b,
    init,
    tensor: new Map([[inputs[0]!.name, inputs[0]!.name]]),
    denseOf: new Map(),
    gated: new Map(),
    opset: version,
  };

  try {
    graph.node.forEach((node, index) => {
      const c: OnnxNodeContext = new OnnxNodeContext(node, index, state);
      if (node.domain && node.domain !== 'ai.onnx') c.fail(`operator domain ${node.domain} is not supported`);
      const handler = Object.hasOwn(ONNX_OPS, node.opType) ? ONNX_OPS[node.opType]! : undefined;
      if (!handler) c.fail(`operator ${node.opType} is not supported (${Object.keys(ONNX_OPS).join(', ')})`);
      state.tensor.set(node.output[0]!, handler(c));
    });
    const outputs = graph.output ?? [];
    if (outputs.length !== 1) throw new GraphError(`expected one graph output, found ${outputs.length}`);
    let output = state.tensor.get(outputs[0]!.name);
    if (!output) throw new GraphError(`graph output ${outputs[0]!.name} is not produced by any node`);
    // Logits out: add the softmax, so classify() gets probabilities and output: 'logits' still reads these.
    if (b.nodes.find((n) => n.output === output)?.op !== 'softmax')
      output = b.add(softmax(`${output}/softmax`, output));
    const finished = b.finish(output);
    const named = model.metadataProps?.find((p) => p.key === 'preprocessing')?.value;
    return named === undefined
      ? finished
      : { ...finished, declared: { preprocessing: parsePreprocessing(named, `${where}: metadata_props`) } };
  } catch (err) {
    if (err instanceof GraphError) throw new ModelFormatError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

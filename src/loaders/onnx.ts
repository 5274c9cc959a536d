/**
 * ONNX (opset >= 11) -> graph IR for ResNet-family graphs: Conv, BatchNormalization, Relu, Add, MaxPool,
 * GlobalAveragePool or ReduceMean over H and W, Flatten / Reshape to [N, C], Gemm or MatMul (+ Add bias),
 * Softmax, Identity / Dropout. Initializers as raw_data or typed fields (float, double, float16).
 * The input is NCHW [N, 3, H, W]; the engine runs NHWC, so weights are permuted at load. Any other
 * operator or attribute value is an error naming the node.
 */
import { GraphError, ModelFormatError } from '../errors.js';
import { GraphBuilder, samePadding, type DenseNode, type Graph, type Pads } from '../graph/ir.js';
import { halfToFloat } from '../util/half.js';
import { parsePreprocessing } from './declared-preprocessing.js';
import { finiteTensor } from './finite.js';
import { OIHW_TO_HWIO, permute, TRANSPOSE } from '../util/layout.js';
import { ModelProto, ONNX_DOUBLE, ONNX_FLOAT, ONNX_FLOAT16, ONNX_INT32, ONNX_INT64 } from './onnx-schema.js';

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined, fallback = 0): number => (v == null ? fallback : typeof v === 'number' ? v : v.toNumber());

interface OnnxTensor { dims: number[]; data: Float32Array | number[] }
interface OnnxAttribute { name: string; f?: number; i?: number | Long; s?: Uint8Array; ints?: Array<number | Long>; floats?: number[]; t?: RawTensor }
interface RawTensor { name?: string; dims?: Array<number | Long>; dataType?: number; floatData?: number[]; int32Data?: number[]; int64Data?: Array<number | Long>; rawData?: Uint8Array; doubleData?: number[]; dataLocation?: number }
interface OnnxNode { name?: string; opType: string; domain?: string; input: string[]; output: string[]; attribute: OnnxAttribute[] }

function readTensor(t: RawTensor, where: string): OnnxTensor {
  const name = t.name ?? '(unnamed)';
  const dims = (t.dims ?? []).map((d) => num(d));
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1) throw new ModelFormatError(`${where}: initializer ${name} keeps its data in an external file; save the model with the weights inside`);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  let data: Float32Array | number[];
  switch (t.dataType) {
    case ONNX_FLOAT:
      if (view) {
        if (raw!.length !== count * 4) throw new ModelFormatError(`${where}: initializer ${name} holds ${raw!.length} bytes, shape [${dims}] needs ${count * 4}`);
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
      } else data = Float32Array.from(t.floatData ?? []);
      break;
    case ONNX_DOUBLE:
      data = view ? Float32Array.from({ length: raw!.length / 8 }, (_, i) => view.getFloat64(8 * i, true)) : Float32Array.from(t.doubleData ?? []);
      break;
    case ONNX_FLOAT16:
      data = view ? Float32Array.from({ length: raw!.length / 2 }, (_, i) => halfToFloat(view.getUint16(2 * i, true))) : Float32Array.from(t.int32Data ?? [], halfToFloat);
      break;
    case ONNX_INT64:
      data = view ? Array.from({ length: raw!.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true))) : (t.int64Data ?? []).map((v) => num(v));
      break;
    case ONNX_INT32:
      data = view ? Array.from({ length: raw!.length / 4 }, (_, i) => view.getInt32(4 * i, true)) : [...(t.int32Data ?? [])];
      break;
    default:
      throw new ModelFormatError(`${where}: initializer ${name} has ONNX data type ${t.dataType}; supported: float, double, float16 (weights), int64/int32 (shapes)`);
  }
  if (data.length !== count) throw new ModelFormatError(`${where}: initializer ${name} holds ${data.length} values, shape [${dims}] needs ${count}`);
  return { dims, data: data instanceof Float32Array ? finiteTensor(data, where, name) : data };
}

export function loadOnnxResNet(bytes: Uint8Array, where: string): Graph {
  let model: { metadataProps?: Array<{ key?: string; value?: string }>; irVersion?: number | Long; opsetImport?: Array<{ domain?: string; version?: number | Long }>; graph?: { node?: OnnxNode[]; initializer?: RawTensor[]; input?: Array<{ name: string; type?: { tensorType?: { shape?: { dim?: Array<{ dimValue?: number | Long; dimParam?: string }> } } } }>; output?: Array<{ name: string }>; name?: string } };
  try {
    model = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, arrays: true }) as typeof model;
  } catch (err) {
    throw new ModelFormatError(`${where}: not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length) throw new ModelFormatError(`${where}: no graph in this ONNX file`);
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = num(opset?.version);
  if (version < 11) throw new ModelFormatError(`${where}: opset ${version || 'missing'}; opset 11 or newer is supported (re-export with a newer opset)`);

  const init = new Map<string, OnnxTensor>();
  for (const t of graph.initializer ?? []) init.set(t.name ?? '', readTensor(t, where));
  const inputs = (graph.input ?? []).filter((i) => !init.has(i.name));
  if (inputs.length !== 1) throw new ModelFormatError(`${where}: expected one graph input (an NCHW image batch), found ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`);
  const dims = inputs[0]!.type?.tensorType?.shape?.dim ?? [];
  const shape = dims.map((d) => num(d.dimValue, -1));
  if (shape.length !== 4 || shape.slice(1).some((d) => d <= 0)) {
    throw new ModelFormatError(`${where}: input ${inputs[0]!.name} has shape [${dims.map((d) => d.dimParam ?? num(d.dimValue, -1))}]; expected NCHW [N, C, H, W] with fixed C, H, W`);
  }
  const b = new GraphBuilder(graph.name || 'onnx', inputs[0]!.name, [shape[2]!, shape[3]!, shape[1]!]);
  const tensor = new Map<string, string>([[inputs[0]!.name, inputs[0]!.name]]);
  const denseOf = new Map<string, DenseNode>();

  try {
    graph.node.forEach((node, index) => {
      const label = `node ${node.name || `#${index}`} (${node.opType})`;
      if (node.domain && node.domain !== 'ai.onnx') throw new GraphError(`${label}: operator domain ${node.domain} is not supported`);
      const attrs = new Map(node.attribute.map((a) => [a.name, a]));
      const ints = (name: string, fallback: number[]) => (attrs.get(name)?.ints?.map((v) => num(v)) ?? fallback);
      const int = (name: string, fallback: number) => num(attrs.get(name)?.i, fallback);
      const str = (name: string, fallback: string) => { const s = attrs.get(name)?.s; return s ? new TextDecoder().decode(s) : fallback; };
      const allowOnly = (names: string[]) => {
        for (const a of attrs.keys()) if (!names.includes(a)) throw new GraphError(`${label}: attribute ${a} is not supported`);
      };
      const act = (i: number) => {
        const t = tensor.get(node.input[i] ?? '');
        if (!t) throw new GraphError(`${label}: input ${node.input[i]} is ${init.has(node.input[i] ?? '') ? 'a constant where an activation is expected' : 'not produced by an earlier node'}`);
        return t;
      };
      const constant = (i: number, what: string) => {
        const t = init.get(node.input[i] ?? '');
        if (!t) throw new GraphError(`${label}: ${what} (${node.input[i] ?? 'missing'}) must be an initializer`);
        return t;
      };
      const out = node.output[0]!;
      const name = node.name || out;
      let result: string;
      switch (node.opType) {
        case 'Conv': {
          allowOnly(['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad']);
          const x = act(0);
          const [h, w, cin] = b.shape(x);
          const W = constant(1, 'the weight');
          if (W.dims.length !== 4) throw new GraphError(`${label}: weight ${node.input[1]} has shape [${W.dims}], expected [O, I, kH, kW]`);
          const [o, i, kh, kw] = W.dims as [number, number, number, number];
          if (int('group', 1) !== 1) throw new GraphError(`${label}: group ${int('group', 1)} is not supported (grouped convolution)`);
          if (ints('dilations', [1, 1]).some((d) => d !== 1)) throw new GraphError(`${label}: dilations ${ints('dilations', [])} are not supported`);
          if (i !== cin) throw new GraphError(`${label}: weight has ${i} input channels, the input has ${cin}`);
          const strides = ints('strides', [1, 1]) as [number, number];
          const autoPad = str('auto_pad', 'NOTSET');
          let pads: Pads;
          if (autoPad === 'NOTSET') { const p = ints('pads', [0, 0, 0, 0]); pads = [p[0]!, p[1]!, p[2]!, p[3]!]; }
          else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
          else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
            const [t, bt] = samePadding(h, kh, strides[0]), [l, r] = samePadding(w, kw, strides[1]);
            pads = autoPad === 'SAME_UPPER' ? [t, l, bt, r] : [bt, r, t, l];
          } else throw new GraphError(`${label}: auto_pad ${autoPad} is not supported`);
          const bias = node.input[2] ? (constant(2, 'the bias').data as Float32Array) : undefined;
          result = b.conv2d(name, x, { weights: permute(W.data as Float32Array, [o, i, kh, kw], OIHW_TO_HWIO), bias, kernel: [kh, kw], filters: o, strides, pads });
          break;
        }
        case 'BatchNormalization': {
          allowOnly(['epsilon', 'momentum', 'training_mode', 'spatial']);
          if (int('training_mode', 0) !== 0) throw new GraphError(`${label}: training_mode 1 is not supported (inference only)`);
          result = b.batchNorm(name, act(0), {
            gamma: constant(1, 'scale').data as Float32Array, beta: constant(2, 'B').data as Float32Array,
            mean: constant(3, 'input_mean').data as Float32Array, variance: constant(4, 'input_var').data as Float32Array,
            epsilon: attrs.get('epsilon')?.f ?? 1e-5,
          });
          break;
        }
        case 'Relu':
          result = b.relu(name, act(0));
          break;
        case 'Add': {
          const [a0, a1] = node.input;
          if (tensor.has(a0!) && tensor.has(a1!)) { result = b.addTensors(name, act(0), act(1)); break; }
          // MatMul + Add(bias): the bias joins the dense layer
          const x = tensor.get(a0!) ?? tensor.get(a1!);
          const bias = init.get(a0!) ?? init.get(a1!);
          const dense = x ? denseOf.get(x) : undefined;
          if (!dense || !bias || bias.data.length !== dense.bias.length) throw new GraphError(`${label}: adding a constant is only supported as the bias of a MatMul`);
          dense.bias = Float32Array.from(bias.data as Float32Array, (v, j) => v + dense.bias[j]!);
          result = x!;
          break;
        }
        case 'Pad': {
          // zero padding of H and W (as an exporter writes Keras' ZeroPadding2D): pads from the input (opset >= 11) or the attribute
          allowOnly(['mode', 'pads', 'value']);
          const x = act(0);
          if (str('mode', 'constant') !== 'constant') throw new GraphError(`${label}: mode ${str('mode', '')} is not supported (only constant zero padding)`);
          const p = node.input[1] ? Array.from(constant(1, 'the pads').data, Number) : ints('pads', []);
          const value = node.input[2] ? constant(2, 'the padding value').data[0] : (attrs.get('value')?.f ?? 0);
          if (p.length !== 8 || p[0] || p[1] || p[4] || p[5] || value !== 0) throw new GraphError(`${label}: only zero padding of height and width is supported (pads [${p}], value ${value})`);
          result = b.pad(name, x, [p[2]!, p[3]!, p[6]!, p[7]!]);
          break;
        }
        case 'MaxPool': {
          allowOnly(['kernel_shape', 'strides', 'pads', 'ceil_mode', 'dilations', 'storage_order', 'auto_pad']);
          if (int('ceil_mode', 0) !== 0) throw new GraphError(`${label}: ceil_mode 1 is not supported`);
          if (ints('dilations', [1, 1]).some((d) => d !== 1)) throw new GraphError(`${label}: dilations are not supported`);
          if (str('auto_pad', 'NOTSET') !== 'NOTSET') throw new GraphError(`${label}: auto_pad ${str('auto_pad', '')} is not supported`);
          const k = ints('kernel_shape', []) as [number, number];
          const p = ints('pads', [0, 0, 0, 0]);
          result = b.maxPool(name, act(0), { size: k, strides: ints('strides', [1, 1]) as [number, number], pads: [p[0]!, p[1]!, p[2]!, p[3]!], padValue: 'ignore' });
          break;
        }
        case 'GlobalAveragePool':
          result = b.globalAvgPool(name, act(0));
          break;
        case 'ReduceMean': {
          const axes = node.input[1] ? (constant(1, 'axes').data as number[]) : ints('axes', []);
          if ([...axes].sort().join() !== '2,3') throw new GraphError(`${label}: only a mean over H and W (axes [2, 3]) is supported, not [${axes}]`);
          result = b.globalAvgPool(name, act(0));
          break;
        }
        case 'Flatten':
        case 'Reshape':
        case 'Identity':
        case 'Dropout': {
          const x = act(0);
          const [h, w, c] = b.shape(x);
          if (node.opType === 'Flatten' && (int('axis', 1) !== 1 || h * w !== 1)) throw new GraphError(`${label}: only flattening [N, C, 1, 1] to [N, C] is supported`);
          if (node.opType === 'Reshape') {
            const target = constant(1, 'the shape').data as number[];
            if (target.length !== 2 || h * w !== 1 || (target[1] !== c && target[1] !== -1)) throw new GraphError(`${label}: only reshaping [N, C, 1, 1] to [N, C] is supported, not to [${target}]`);
          }
          result = x;
          break;
        }
        case 'Gemm':
        case 'MatMul': {
          const x = act(0);
          const [h, w, c] = b.shape(x);
          if (h * w !== 1) throw new GraphError(`${label}: input must be [N, C] (after pooling and flattening)`);
          const W = constant(1, 'B');
          let transB = false;
          if (node.opType === 'Gemm') {
            allowOnly(['alpha', 'beta', 'transA', 'transB']);
            if (int('transA', 0) !== 0 || (attrs.get('alpha')?.f ?? 1) !== 1 || (attrs.get('beta')?.f ?? 1) !== 1) throw new GraphError(`${label}: only transA = 0, alpha = beta = 1 are supported`);
            transB = int('transB', 0) === 1;
          }
          const units = transB ? W.dims[0]! : W.dims[1]!;
          if (W.data.length !== units * c) throw new GraphError(`${label}: B has shape [${W.dims}], input has ${c} features`);
          const weights = transB ? permute(W.data as Float32Array, [units, c], TRANSPOSE) : W.data as Float32Array;
          const bias = node.opType === 'Gemm' && node.input[2] ? (constant(2, 'C').data as Float32Array) : undefined;
          result = b.dense(name, x, { weights, bias, units });
          denseOf.set(result, b.nodes[b.nodes.length - 1] as DenseNode);
          break;
        }
        case 'Softmax': {
          const axis = int('axis', version >= 13 ? -1 : 1);
          if (axis !== -1 && axis !== 1) throw new GraphError(`${label}: softmax over axis ${axis} is not supported`);
          result = b.softmax(name, act(0));
          break;
        }
        default:
          throw new GraphError(`${label}: operator ${node.opType} is not supported (Conv, BatchNormalization, Relu, Add, Pad, MaxPool, GlobalAveragePool, ReduceMean, Flatten, Reshape, Gemm, MatMul, Softmax, Identity, Dropout)`);
      }
      tensor.set(out, result);
    });
    const outputs = graph.output ?? [];
    if (outputs.length !== 1) throw new GraphError(`expected one graph output, found ${outputs.length}`);
    let output = tensor.get(outputs[0]!.name);
    if (!output) throw new GraphError(`graph output ${outputs[0]!.name} is not produced by any node`);
    // Logits out: add the softmax, so classify() gets probabilities and output: 'logits' still reads these.
    if (b.nodes.find((n) => n.output === output)?.op !== 'softmax') output = b.softmax(`${output}/softmax`, output);
    const finished = b.finish(output);
    const named = model.metadataProps?.find((p) => p.key === 'preprocessing')?.value;
    return named === undefined ? finished : { ...finished, declared: { preprocessing: parsePreprocessing(named, `${where}: metadata_props`) } };
  } catch (err) {
    if (err instanceof GraphError) throw new ModelFormatError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

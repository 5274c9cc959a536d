/** Model sources and weight formats shared by the Node and browser entries. */
import type { ResNetDefinition } from './arch/resnet.js';
import { InputError, ModelFormatError } from './errors.js';
import { IMAGENET_LABELS } from './labels.js';
import { weightDepth, type Graph } from './graph/ir.js';
import { loadOnnxResNet } from './loaders/onnx.js';
import { loadSafetensorsResNet } from './loaders/safetensors.js';
import { loadTfjsLayersModel, type LoadProgress } from './loaders/tfjs-layers.js';
import { fetchWhole, memorySource, type FileSource } from './loaders/source.js';
import { isWeightStorage, type WeightStorage } from './ops/weight-storage.js';
import type { ConvStrategy } from './plan/conv-algorithm.js';
import { checkHead, headFromSafetensors, type Head } from './train/head.js';
import { CAFFE_PREPROCESSING, TORCH_PREPROCESSING, type Preprocessing } from './preprocess/preprocess.js';

/** TF.js layers files held in memory: model.json (text, bytes or parsed object) and its shards by file name. */
export interface InMemoryModel {
  modelJson: string | object | Uint8Array;
  /** Shard contents keyed by the paths model.json lists. */
  weights: Record<string, Uint8Array | ArrayBuffer>;
}

/** A torchvision/timm state_dict as safetensors bytes. */
export interface InMemorySafetensors {
  safetensors: Uint8Array | ArrayBuffer;
}

/** An ONNX model's bytes. */
export interface InMemoryOnnx {
  onnx: Uint8Array | ArrayBuffer;
}

export type ModelSource = string | URL | InMemoryModel | InMemorySafetensors | InMemoryOnnx;

/** The weight formats: Keras via TF.js layers (model.json + shards), safetensors, ONNX. */
export type WeightsFormat = 'tfjs-layers' | 'safetensors' | 'onnx';

export interface LoadOptionsBase {
  /**
   * Where the weights come from: a model.json, .safetensors or .onnx URL, (Node) a path to one of those
   * or to a model.json folder, or files in memory.
   */
  source?: ModelSource;
  /**
   * Keep weight files loaded from URLs in the browser's Cache API, so a later visit reads them from
   * there (default true where the Cache API exists; Node has none). `clearModelCache()` empties it.
   */
  cache?: boolean;
  /** A GPUDevice of yours; the engine then never destroys it. */
  device?: GPUDevice;
  /**
   * The adapter your `device` came from: its info names the adapter in `model.info` and chooses the
   * kernels (CPU adapters run others). Without it the device's own `adapterInfo` is read (except in Deno).
   */
  adapter?: GPUAdapter;
  /** Progress while the weight files are read. */
  onProgress?: (p: LoadProgress) => void;
  /** Class names; default: ImageNet-1k for 1000-class models. */
  labels?: readonly string[];
  /**
   * The depth you expect (18, 34, 50, 101, 152): checked against the weights, whatever their format.
   * For safetensors, `definition` says where a bottleneck's stride sits (default 'torchvision').
   */
  depth?: number;
  definition?: ResNetDefinition;
  /**
   * The input size the network is planned for: a number (square) or [height, width]; default: the
   * weights' own (224 for the Keras ResNet-50). A ResNet runs at any size; images are resized so their
   * shorter side is round(size / cropPct) and center-cropped to the size (square sizes only).
   */
  inputSize?: number | [number, number];
  /** The crop fraction for images at `inputSize` (default 0.875: 224 -> resize 256, crop 224; timm's crop_pct). */
  cropPct?: number;
  /** Image preprocessing; default: caffe for Keras (TF.js layers) weights, torchvision's for safetensors. */
  preprocessing?: Preprocessing;
  /**
   * How conv and dense weights are stored on the GPU (sums are always f32): 'f32' (exact), 'f16' (half
   * the weight memory and reads; logits move by about 1e-3 of their scale) or 'int8' (a quarter;
   * symmetric per-output-channel scales, quantized at load unless the file already is). Default: the
   * file's own precision (a converted safetensors file records it), else 'f32'.
   */
  precision?: Precision;
  /**
   * A classifier to use instead of the weights' own: a head trained by `trainer().fit` (`result.head`),
   * or a head-only file's bytes, URL or (Node) path (`webgpu-resnet train --head-only`). It must read as
   * many features as the network gives; its labels become the model's.
   */
  head?: HeadSource;
  /**
   * How convolutions run: 'tiled' (the GPU kernels: tiles in workgroup memory) or 'simd' (register
   * shuffles across subgroups, for CPU adapters with fixed-size subgroups). Default: chosen by the
   * adapter. 'tiled' runs anywhere, so the GPU kernels can be timed on a CPU adapter.
   */
  convStrategy?: ConvStrategy;
  /**
   * Winograd for the 3x3 stride-1 convs with f32 weights (default true): F(4x4, 3x3) on images of 32 or
   * more 4x4 output tiles (16 or more in the tiled GPU kernels; 4 times fewer multiplies, 4 times the
   * weight bytes), F(2x2, 3x3) on smaller ones (2.25 times fewer, 16/9 the bytes; the tiled kernels only
   * on images of 16 or more 2x2 tiles), with two scratch tensors between its kernels. 2 or 4: that variant wherever it fits (f16 weights,
   * direct otherwise, then take F(2x2, 3x3): faster, but the transformed filters are rounded to halves
   * anew; int8 weights always stay direct). false computes every conv directly, in the least memory
   * (ResNet-50 f32 at batch 1: 109 MB instead of 153 with the simd kernels, 184 with the tiled ones).
   */
  winograd?: boolean | 2 | 4;
  /**
   * Time the tiled conv kernels' tilings on this device at load and keep the fastest per GEMM shape (a few
   * candidates each; one network plan per candidate round, profiled; needs 'timestamp-query'): true for
   * batch 1, or the batch sizes to tune (others plan with the built-in policy). Answers are kept per
   * adapter and shape (for the process; in Node in the model cache folder, in a page in localStorage),
   * so a second load skips the timing; model.info.autotune reports it. Default: on in Node for GPU
   * adapters with 'timestamp-query' and the tiled kernels; off on CPU adapters (their simd kernels have
   * no tiles; with convStrategy 'tiled' it may be asked for), on adapters with empty info strings
   * (Firefox) and in browsers (their timestamps are rounded to 0.1 ms unless developer features are on).
   */
  autotune?: boolean | readonly number[];
  /**
   * When the engine's own GPU device is lost, build the model again on a new device at the next call
   * (calls pending at the loss still fail). Not with `device`: a device of yours is yours to replace.
   */
  recover?: boolean;
}

export type Precision = WeightStorage;

/** Where a head comes from: itself, a head-only file's bytes, or its URL or (Node) path. */
export type HeadSource = Head | Uint8Array | ArrayBuffer | string | URL;

/** The head `source` names; `readPath` reads a file path where the platform has files (Node). */
export async function readHead(source: HeadSource, readPath?: (path: string) => Promise<Uint8Array>): Promise<Head> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer)
    return headFromSafetensors(source instanceof Uint8Array ? source : new Uint8Array(source), 'head');
  if (typeof source === 'string' || source instanceof URL) {
    const where = String(source);
    if (isUrl(source)) return headFromSafetensors(await fetchWhole(where), where);
    if (!readPath)
      throw new InputError(
        `head "${where}" is not a URL, and this platform reads no file paths: pass a full URL or the bytes`,
      );
    return headFromSafetensors(await readPath(where), where);
  }
  if (source && typeof source === 'object' && 'labels' in source && 'weights' in source) return checkHead(source);
  throw new InputError(
    "head must be a trained head ({ labels, weights, bias }), a head-only file's bytes, or its URL or path",
  );
}

/** Where a model's files came from: all from the network, all from the browser's weight cache, or some of each. */
export type WeightsOrigin = 'network' | 'cache' | 'mixed';

export interface LoadedGraph {
  graph: Graph;
  format: WeightsFormat;
  /** For URL sources: whether the files came from the network, the weight cache, or both. */
  origin?: WeightsOrigin;
}

/** With `depth` given, the loaded network must have it (any format); a clear error otherwise. */
function checkDepth(graph: Graph, depth: number | undefined): void {
  if (depth === undefined) return;
  const found = weightDepth(graph);
  if (found !== depth)
    throw new ModelFormatError(
      `these weights are a ResNet-${found} (${found} weight layers deep), not the ResNet-${depth} asked for`,
    );
}

/**
 * What both entries derive from a loaded graph and the options: the depth checked, labels (ImageNet-1k
 * for 1000-class models unless given), preprocessing (by weight format unless given) and precision.
 */
export function modelSettings(
  { graph, format }: LoadedGraph,
  options: LoadOptionsBase,
): {
  labels?: readonly string[];
  preprocessing: Preprocessing;
  precision: Precision;
  inputSize?: [number, number];
  convStrategy?: ConvStrategy;
  winograd?: boolean | 2 | 4;
  autotune?: boolean | readonly number[];
} {
  checkDepth(graph, options.depth);
  const { autotune } = options;
  if (
    autotune !== undefined &&
    typeof autotune !== 'boolean' &&
    !(Array.isArray(autotune) && autotune.length && autotune.every((b) => Number.isInteger(b) && b >= 1))
  ) {
    throw new InputError(
      `autotune must be true, false or a list of batch sizes (positive integers), got ${JSON.stringify(autotune)}`,
    );
  }
  if (
    options.winograd !== undefined &&
    typeof options.winograd !== 'boolean' &&
    options.winograd !== 2 &&
    options.winograd !== 4
  )
    throw new InputError(
      `winograd must be true, false, 2 or 4 (the output tile of F(2x2, 3x3) or F(4x4, 3x3)), got ${JSON.stringify(options.winograd)}`,
    );
  const precision = options.precision ?? graph.declared?.precision ?? 'f32';
  if (!isWeightStorage(precision))
    throw new InputError(`precision must be 'f32', 'f16' or 'int8', got ${JSON.stringify(precision)}`);
  const classes = graph.shapes.get(graph.output)![2];
  const preprocessing = options.preprocessing ?? graph.declared?.preprocessing ?? defaultPreprocessing(format);
  const asked =
    options.inputSize === undefined
      ? undefined
      : typeof options.inputSize === 'number'
        ? ([options.inputSize, options.inputSize] as [number, number])
        : options.inputSize;
  if (asked && !(Array.isArray(asked) && asked.length === 2))
    throw new InputError(`inputSize must be a number or [height, width], got ${JSON.stringify(options.inputSize)}`);
  const inputSize = asked ?? graph.declared?.inputSize;
  const cropPct = options.cropPct ?? 0.875;
  if (!(cropPct > 0 && cropPct <= 1)) throw new InputError(`cropPct must be in (0, 1], got ${cropPct}`);
  // timm's rule for another size: the shorter side to round(size / crop_pct), then the center crop (a
  // file converted for a size records its own preprocessing, kept as it is)
  const resized =
    inputSize &&
    inputSize[0] === inputSize[1] &&
    (asked || options.cropPct !== undefined || preprocessing.cropTo !== inputSize[0])
      ? { ...preprocessing, resizeTo: Math.round(inputSize[0] / cropPct), cropTo: inputSize[0] }
      : preprocessing;
  if (resized.resizeTo < resized.cropTo)
    throw new InputError(
      `preprocessing resizes to ${resized.resizeTo} pixels, less than the ${resized.cropTo} it crops: resizeTo must be at least cropTo`,
    );
  return {
    labels: options.labels ?? graph.declared?.labels ?? (classes === 1000 ? IMAGENET_LABELS : undefined),
    preprocessing: resized,
    precision,
    inputSize,
    convStrategy: options.convStrategy,
    winograd: options.winograd,
    autotune,
  };
}

export const isUrl = (s: string | URL): boolean => s instanceof URL || /^(https?|file|blob|data):/i.test(s);

/** The format a file name or URL path announces by its extension (anything else: a TF.js model.json). */
export function formatOf(name: string): WeightsFormat {
  const path = name.split(/[?#]/)[0]!;
  return /\.safetensors$/i.test(path) ? 'safetensors' : /\.onnx$/i.test(path) ? 'onnx' : 'tfjs-layers';
}

function defaultPreprocessing(format: WeightsFormat): Preprocessing {
  return format === 'tfjs-layers' ? CAFFE_PREPROCESSING : TORCH_PREPROCESSING;
}

/** Builds the graph of one weights file already in memory. */
export function graphFromBytes(
  format: Exclude<WeightsFormat, 'tfjs-layers'>,
  bytes: Uint8Array,
  where: string,
  options: LoadOptionsBase,
): Graph {
  switch (format) {
    case 'safetensors':
      return loadSafetensorsResNet(bytes, where, { depth: options.depth, definition: options.definition });
    case 'onnx':
      return loadOnnxResNet(bytes, where);
  }
}

export async function loadFromMemory(
  model: InMemoryModel | InMemorySafetensors | InMemoryOnnx,
  options: LoadOptionsBase = {},
): Promise<LoadedGraph> {
  const asBytes = (b: Uint8Array | ArrayBuffer) => (b instanceof Uint8Array ? b : new Uint8Array(b));
  if (model && typeof model === 'object' && 'safetensors' in model) {
    return {
      graph: graphFromBytes('safetensors', asBytes(model.safetensors), 'memory:safetensors', options),
      format: 'safetensors',
    };
  }
  if (model && typeof model === 'object' && 'onnx' in model) {
    return { graph: graphFromBytes('onnx', asBytes(model.onnx), 'memory:onnx', options), format: 'onnx' };
  }
  if (!model || typeof model !== 'object' || !('modelJson' in model) || !('weights' in model)) {
    throw new InputError('source must be a URL, a path, { modelJson, weights }, { safetensors } or { onnx }');
  }
  const json = model.modelJson;
  const text = typeof json === 'string' || json instanceof Uint8Array ? json : JSON.stringify(json);
  const files: Record<string, Uint8Array | ArrayBuffer | string> = { ...model.weights, 'model.json': text };
  const source: FileSource = memorySource(files, 'memory');
  return { graph: await loadTfjsLayersModel(source, 'model.json', options.onProgress), format: 'tfjs-layers' };
}

export type { LoadProgress };

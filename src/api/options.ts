/**
 * The options of loadResNet, shared by the Node and browser entries (each extends them), and where a
 * classifier head given by the caller comes from.
 */
import type { ResNetDefinition } from '../arch/resnet.js';
import { InputError } from '../errors.js';
import { checkHead, type Head } from '../graph/head.js';
import type { ConvStrategy } from '../kernels/conv-types.js';
import type { WeightStorage } from '../kernels/weight-storage.js';
import type { LoadProgress, ModelSource } from '../loaders/formats.js';
import { isUrl } from '../loaders/formats.js';
import { headFromSafetensors } from '../loaders/head-file.js';
import { fetchWhole } from '../loaders/source.js';
import type { Preprocessing } from '../preprocess/preprocess.js';

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
   * shorter side is floor(size / cropPct) and center-cropped to the size (square sizes only).
   */
  inputSize?: number | [number, number];
  /** The crop fraction for images at `inputSize` (default: a hub folder's crop_pct, else 0.875: 224 -> 256 -> 224). */
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
   * on images of 16 or more 2x2 tiles), with two scratch tensors between its kernels. 2 or 4: that
   * variant wherever it fits (f16 weights, direct otherwise, then take F(2x2, 3x3): faster, but the
   * transformed filters are rounded to halves anew; int8 weights always stay direct). false computes every
   * conv directly, in the least memory (GPU bytes of each: docs/results.md).
   */
  winograd?: boolean | 2 | 4;
  /**
   * Time the tiled conv kernels' tilings on this device at load and keep the fastest per GEMM shape (a few
   * candidates each; one network plan per candidate round, profiled; needs 'timestamp-query' and the tiled
   * kernels): true for batch 1, or the batch sizes to tune (others plan with the built-in policy). Answers
   * are kept per adapter and shape (for the process; in Node in the model cache folder, in a page in
   * localStorage), so a second load skips the timing; model.info.autotune reports it. Default: off (no run
   * on a GPU has yet shown that it pays; docs/results.md). Where the timestamps are rounded (Chrome) the
   * built-in tilings are kept.
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
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    return headFromSafetensors(source instanceof Uint8Array ? source : new Uint8Array(source), 'head');
  }
  if (typeof source === 'string' || source instanceof URL) {
    const where = String(source);
    if (isUrl(source)) return headFromSafetensors(await fetchWhole(where), where);
    if (!readPath) {
      const why = 'is not a URL, and this platform reads no file paths: pass a full URL or the bytes';
      throw new InputError(`head "${where}" ${why}`);
    }
    return headFromSafetensors(await readPath(where), where);
  }
  if (source && typeof source === 'object' && 'labels' in source && 'weights' in source) return checkHead(source);
  throw new InputError(
    "head must be a trained head ({ labels, weights, bias }), a head-only file's bytes, or its URL or path",
  );
}

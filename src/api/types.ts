/** The public model's types: predictions, options, what a model says of itself, how it takes images. */
import type { OptimizeReport } from '../graph/passes.js';
import type { Shape } from '../ir/tensor.js';
import type { ConvStrategy } from '../kernels/conv-types.js';
import type { PlanOutputs } from '../plan/planner.js';
import type { RawImage } from '../preprocess/preprocess.js';
import type { AutotuneReport } from '../runtime/autotune.js';
import type { Precision } from './options.js';

export interface Prediction {
  /** Class index (0-999 for ImageNet). */
  index: number;
  label: string;
  probability: number;
}

/** Which residual blocks to delete for a call (see ResNetModel.blocks). */
export interface LesionOptions {
  /**
   * Residual blocks to delete, by name (`layerS.B`, e.g. `['layer3.2', 'layer4.0']`): a deleted block passes
   * its input through the identity shortcut, or for a block that changes shape, through its projection
   * alone (y = relu(proj(x))). The plan for each set of blocks is built once and kept.
   */
  skipBlocks?: readonly string[];
}

export interface InferOptions extends LesionOptions {
  /** Number of images in `input` (default 1). */
  batch?: number;
  /** Memory order of `input`: NHWC (default, what the engine runs) or NCHW (PyTorch's). */
  layout?: 'nhwc' | 'nchw';
  /**
   * What to return: softmax probabilities (default), the logits before the softmax, or the features: the
   * global average pool's output that the classifier reads (2048 values per image for ResNet-50/101/152,
   * 512 for ResNet-18/34).
   */
  output?: keyof PlanOutputs;
}

export interface EmbedOptions extends LesionOptions {
  /** Scale the vector to unit length (L2), so that a dot product is the cosine similarity (default false). */
  normalize?: boolean;
}

/** A residual block of the loaded network, as `skipBlocks` names it. */
export interface BlockInfo {
  /** `layerS.B`: stage S from 1, block B from 0 (torchvision's names; in Keras' ResNet-50, layer3.2 is res4c). */
  name: string;
  stage: number;
  index: number;
  /** Whether the shortcut is a 1x1 projection (the block changes shape) rather than the identity. */
  projection: boolean;
  /** The projection conv's layer name (e.g. res4a_branch1), for a projection shortcut; it stays when the block is
   * deleted. */
  shortcut?: string;
  inputShape: Shape;
  outputShape: Shape;
  /** The layers on the residual branch, by their names in the weights (e.g. res4c_branch2a, ...). */
  layers: string[];
}

export interface ModelInfo {
  name: string;
  /** The network's family name, from its graph: e.g. "SE-ResNeXt-50 32x4d, deep stem, avg-pool shortcut". */
  architecture: string;
  /** Where the labels came from: 'given', the file's own (e.g. "config.json id2label"), 'ImageNet-1k'; absent when
   * the model names its classes `class i`. */
  labelsFrom?: string;
  adapter: string;
  inputShape: [number, number, number];
  classes: number;
  /** Length of the feature vector `embed` returns (the global average pool's channels), 0 if none. */
  features: number;
  /** Bytes of weights on the GPU, and of the activation arena for one image. */
  weightBytes: number;
  arenaBytesBatch1: number;
  pipelines: number;
  dispatches: number;
  /** How convolutions run: 'tiled' (GPUs) or 'simd' (CPU adapters), as chosen for the adapter or by `convStrategy`. */
  convStrategy: ConvStrategy;
  /** How conv and dense weights are stored: 'f32', 'f16' or 'int8' (see LoadOptions.precision). */
  precision: Precision;
  passes: OptimizeReport;
  /** URL sources: whether the weight files came from the network, the browser's weight cache, or both. */
  weightsFrom?: 'network' | 'cache' | 'mixed';
  /** What the load-time autotune (LoadOptions.autotune) timed and changed; absent when it did not run. */
  autotune?: AutotuneReport;
}

/** Turns whatever a platform accepts as an image into pixels. */
export type ImageDecoder<I> = (image: I) => Promise<RawImage>;

/**
 * Puts an image on `device` as an rgba8unorm texture, so the preprocessing kernel resizes, crops and
 * normalizes it on the GPU; undefined where that cannot be done (the image is then decoded on the CPU).
 * The model destroys the texture when done.
 */
export type ImageUploader<I> = (device: GPUDevice, image: I) => Promise<GPUTexture | undefined>;

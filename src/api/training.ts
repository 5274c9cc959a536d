/**
 * Training new classes, as the API names it: what `model.trainer()` returns (src/train/trainer.ts makes
 * one), its options and its result. Declared here, at the public edge, so that the model knows training
 * only by these types; the training code depends on the model, never the reverse.
 */
import type { Head } from '../graph/head.js';

/** One epoch: the training examples' mean loss and accuracy (each seen before its step's update), and the validation
 * split's after the epoch. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
}

export interface AugmentOptions {
  /** Views of each training image besides the image itself (1 to 16). */
  copies: number;
  /** Mirror left to right: half the views at random (without crop: every other view, starting with the first) (default
   * true). */
  flip?: boolean;
  /** Crop anywhere in the resized image rather than at its center (default true). */
  crop?: boolean;
}

export interface FitOptions {
  /** 'softmax' (default): a linear softmax head trained by AdamW; 'mean': the nearest class mean (for 1-5 examples a
   * class). */
  method?: 'softmax' | 'mean';
  /** Default 60. */
  epochs?: number;
  /** AdamW's step size (default 0.01) and decoupled weight decay (default 1e-4). */
  learningRate?: number;
  weightDecay?: number;
  /** Examples per step (default 32). */
  batchSize?: number;
  /** The share of each class held out to validate (default 0.2; 0: none). Early stopping watches its loss. */
  validationSplit?: number;
  /** Epochs without a lower validation loss before stopping (default 10). */
  patience?: number;
  /** Weigh each class's examples so every class counts the same in the loss (default true). */
  balance?: boolean;
  /** The seed of the split and of the minibatch order: the same seed, the same head (default 1). */
  seed?: number;
  /** After each epoch: loss and accuracy on the training examples, and on the validation split. */
  onEpoch?: (record: EpochRecord) => void;
  /** While embedding the images: how many are done (with `augment`, the total grows by the views once the images are
   * done). */
  onEmbedded?: (done: number, total: number) => void;
  /** More views of each training image (random crops, mirrors), each embedded and trained on as an example (default
   * none). */
  augment?: AugmentOptions;
}

/** What `fit` returns; `M` is the model type (ResNetModel<I>: src/index.ts exports it as FitResult<I>). */
export interface FitResultOf<M = unknown> {
  /** The model with the new head: shares the base's network on the GPU. */
  model: M;
  head: Head;
  history: EpochRecord[];
  /** The epoch the head is from (the best by validation loss, else the last). */
  epoch: number;
  /** The validation split's accuracy and confusion matrix (rows: the true class, columns: the predicted), by
   * `head.labels`. */
  validation?: { accuracy: number; confusion: number[][]; examples: number };
  /** Training rows that are augmented views of the training images (0 without `augment`). */
  augmented: number;
  /** Examples whose image could not be read: left out, with the reason. */
  skipped: Array<{ index: number; label: string; error: string }>;
  milliseconds: { embedding: number; training: number };
}

/** New classes for a model of images `I` (see src/train/trainer.ts); `M` is the model type. */
export interface ModelTrainer<I, M> {
  /** An image of class `label` (kept until fit embeds it). */
  add(image: I, label: string): this;
  /** An embedding already computed (model.embed, or `features` of infer) of class `label`. */
  addFeatures(features: Float32Array, label: string): this;
  /** Examples per class, in the order the classes first came. */
  readonly counts: Map<string, number>;
  /** Embeds the examples (and, with `augment`, more views of the training images), trains the head and returns the
   * model with it. */
  fit(options?: FitOptions): Promise<FitResultOf<M>>;
}

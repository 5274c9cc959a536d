/**
 * The kernels that train a classification head on the GPU (shaders/train_*.wgsl): per-feature statistics,
 * standardized rows in a given order (the shuffled training split each epoch: each minibatch is a run of
 * rows), and per step the logits (4 x 4 tiles), softmax with loss and dz, and the gradient with the
 * AdamW update (4 x 4 tiles). Their bindings are declared once, here, as the engine's kernels' are.
 */
import stats from '../../shaders/train_stats.wgsl';
import standardize from '../../shaders/train_standardize.wgsl';
import logits from '../../shaders/train_logits.wgsl';
import softmax from '../../shaders/train_softmax.wgsl';
import update from '../../shaders/train_update.wgsl';
import { declareBindings, type KernelInterface } from './bindings.js';
import { shader, type Shader } from './shader.js';
import { specialize } from './wgsl.js';

export const TRAIN_STATS_BINDINGS = {
  features: { binding: 0, kind: 'constants' },
  examples: { binding: 1, kind: 'constants' },
  stats: { binding: 2, kind: 'activations' },
} as const satisfies KernelInterface;

export const TRAIN_STANDARDIZE_BINDINGS = {
  features: { binding: 0, kind: 'constants' },
  stats: { binding: 1, kind: 'constants' },
  rows: { binding: 2, kind: 'activations' },
} as const satisfies KernelInterface;

export const TRAIN_LOGITS_BINDINGS = {
  step: { binding: 0, kind: 'uniform' },
  rows: { binding: 1, kind: 'constants' },
  params: { binding: 2, kind: 'constants' },
  logits: { binding: 3, kind: 'activations' },
  order: { binding: 4, kind: 'constants' },
} as const satisfies KernelInterface;

export const TRAIN_SOFTMAX_BINDINGS = {
  step: { binding: 0, kind: 'uniform' },
  logits: { binding: 1, kind: 'constants' },
  labels: { binding: 2, kind: 'constants' },
  classWeight: { binding: 3, kind: 'constants' },
  order: { binding: 4, kind: 'constants' },
  dz: { binding: 5, kind: 'activations' },
  loss: { binding: 6, kind: 'activations' },
  correct: { binding: 7, kind: 'activations' },
} as const satisfies KernelInterface;

export const TRAIN_UPDATE_BINDINGS = {
  step: { binding: 0, kind: 'uniform' },
  rows: { binding: 1, kind: 'constants' },
  dz: { binding: 2, kind: 'constants' },
  params: { binding: 3, kind: 'activations' },
  moments: { binding: 4, kind: 'activations' },
  order: { binding: 5, kind: 'constants' },
} as const satisfies KernelInterface;

/** The per-step uniform (the kernels' Step): 6 words, in a 256-byte slot per step. */
export const STEP_BYTES = 256;

/** Counts rounded up to 4 (features and classes are read as vec4s): the padded sizes, in vec4s. */
export const quads = (n: number): number => Math.ceil(n / 4);

export function statsShader(f: number, count: number): Shader {
  return shader(
    'train_stats',
    { f, count },
    () =>
      declareBindings(TRAIN_STATS_BINDINGS, { features: 'f32', examples: 'u32', stats: 'f32' }) +
      specialize('train_stats.wgsl', stats, { F: f, COUNT: count }),
  );
}

/** Every example's standardized row ([count][F rounded up to 4]). */
export function standardizeShader(f: number, count: number): Shader {
  return shader(
    'train_standardize',
    { f, count },
    () =>
      declareBindings(TRAIN_STANDARDIZE_BINDINGS, { features: 'f32', stats: 'f32', rows: 'f32' }) +
      specialize('train_standardize.wgsl', standardize, { F: f, FP: 4 * quads(f), COUNT: count }),
  );
}

/** Workgroups of the standardize kernel for `count` rows: 64 features by a share of the rows. */
export const standardizeWorkgroups = (f: number, count: number): [number, number] => [
  Math.ceil((4 * quads(f)) / 64),
  Math.min(count, 65535),
];

/**
 * Invocations per workgroup of train_logits.wgsl (logits in tiles of 4 rows x 4 classes: one invocation per
 * tile); 8 measured faster than 64 on lavapipe (docs/results.md, "Training").
 */
export const LOGITS_WORKGROUP = 8;

export function logitsShader(f: number, c: number): Shader {
  return shader(
    'train_logits',
    { f, c },
    () =>
      declareBindings(TRAIN_LOGITS_BINDINGS, {
        step: 'Step',
        rows: 'vec4<f32>',
        order: 'u32',
        params: 'vec4<f32>',
        logits: 'vec4<f32>',
      }) +
      STEP_STRUCT +
      specialize('train_logits.wgsl', logits, { F4: quads(f), C4: quads(c), WORKGROUP: LOGITS_WORKGROUP }),
  );
}

/** Softmax, loss and dz of a minibatch (train), or the loss of examples being evaluated (no class weights, no dz). */
export function softmaxShader(c: number, batch: number, train: boolean): Shader {
  const types = {
    step: 'Step',
    logits: 'f32',
    labels: 'u32',
    ...(train && { classWeight: 'f32' }),
    order: 'u32',
    ...(train && { dz: 'f32' }),
    loss: 'f32',
    correct: 'u32',
  };
  return shader(
    'train_softmax',
    { c, batch, train },
    () =>
      declareBindings(TRAIN_SOFTMAX_BINDINGS, types) +
      STEP_STRUCT +
      specialize('train_softmax.wgsl', softmax, { C: c, CP: 4 * quads(c), BATCH: batch, TRAIN: train }),
  );
}

/** The gradient over minibatches of `batch` rows and the AdamW update, in tiles of 4 features x 4 classes: one
 * invocation per tile. */
export function updateShader(f: number, c: number, batch: number): Shader {
  return shader(
    'train_update',
    { f, c, batch },
    () =>
      declareBindings(TRAIN_UPDATE_BINDINGS, {
        step: 'Step',
        rows: 'vec4<f32>',
        order: 'u32',
        dz: 'vec4<f32>',
        params: 'vec4<f32>',
        moments: 'vec4<f32>',
      }) +
      STEP_STRUCT +
      specialize('train_update.wgsl', update, {
        F4: quads(f),
        C4: quads(c),
        BATCH: batch,
        P4: (4 * quads(f) + 1) * quads(c),
      }),
  );
}

/** The Step uniform every training kernel reads (see stepWords in gpu-trainer.ts). */
const STEP_STRUCT = `
struct Step {
  start: u32,
  count: u32,
  lr: f32,
  decay: f32,
  correction1: f32, // 1 - beta1^t
  correction2: f32, // 1 - beta2^t
}
`;

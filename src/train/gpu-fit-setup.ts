/**
 * What one fit of a head holds on the GPU (src/train/gpu-trainer.ts runs it): the statistics of the
 * training examples' features and every example's standardized row, computed once; the buffers of the
 * parameters, moments, logits and per-example results; the pipelines of the training kernels
 * (src/kernels/train.ts); and one set of bind groups per minibatch step, plus one for the validation pass.
 */
import {
  LOGITS_WORKGROUP,
  logitsShader,
  quads,
  STEP_BYTES,
  softmaxShader,
  standardizeShader,
  standardizeWorkgroups,
  statsShader,
  TRAIN_LOGITS_BINDINGS,
  TRAIN_SOFTMAX_BINDINGS,
  TRAIN_STANDARDIZE_BINDINGS,
  TRAIN_STATS_BINDINGS,
  TRAIN_UPDATE_BINDINGS,
  updateShader,
} from '../kernels/train.js';
import { bindGroupOf, storageBuffer } from '../runtime/buffers.js';
import type { PipelineCache } from '../runtime/pipelines.js';
import { BUFFER } from '../runtime/usage.js';

/** What is trained on: n examples of f features (a GPU buffer [n][f], left as it is), their labels. */
export interface TrainingData {
  features: GPUBuffer;
  n: number;
  f: number;
  classes: number;
  labels: Uint32Array;
  /** Example indices of the training and validation splits. */
  train: Uint32Array;
  validation: Uint32Array;
  /** Each class's weight in the loss (balanced classes: n / (classes * count of the class)). */
  classWeight: Float32Array;
}

/** Where a fit's GPU objects come from: the device, a pipeline cache, and a list that owns every buffer made. */
export interface FitScope {
  device: GPUDevice;
  pipelines: PipelineCache;
  buffers: GPUBuffer[];
}

/** The bind groups of one step: logits, softmax (with loss), and the update (none in the validation pass). */
export interface StepGroups {
  logits: GPUBindGroup;
  softmax: GPUBindGroup;
  update?: GPUBindGroup;
}

export interface FitSetup {
  paramBytes: number;
  /** Examples per step, and steps per epoch. */
  batch: number;
  steps: number;
  buffers: Record<'stats' | 'order' | 'params' | 'best' | 'loss' | 'correct' | 'uniforms' | 'read', GPUBuffer>;
  groups: StepGroups[];
  evaluation?: StepGroups;
  /** Dispatches one step (or the validation pass) of `count` examples into `pass`. */
  encodeStep(pass: GPUComputePassEncoder, groups: StepGroups, count: number): void;
}

/** The step uniform of shaders/train_*.wgsl. */
export function stepWords(start: number, count: number, lr: number, decay: number, t: number): ArrayBuffer {
  const buf = new ArrayBuffer(24);
  new Uint32Array(buf, 0, 2).set([start, count]);
  new Float32Array(buf, 8, 4).set([lr, decay, 1 - 0.9 ** t, 1 - 0.999 ** t]);
  return buf;
}

const keep = (scope: FitScope, b: GPUBuffer) => {
  scope.buffers.push(b);
  return b;
};
const storage = (scope: FitScope, label: string, data: ArrayBufferView | number) =>
  keep(scope, storageBuffer(scope.device, label, data));

/** One compute pass of one dispatch, submitted. */
function submitOne(
  device: GPUDevice,
  label: string,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  workgroups: [number, number],
) {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(...workgroups);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** The statistics of the training examples' features (F means, then F scales), and every example's standardized row. */
async function standardize(scope: FitScope, data: TrainingData, rows: GPUBuffer): Promise<GPUBuffer> {
  const { device, pipelines } = scope;
  const stats = storage(scope, 'train stats', 8 * data.f);
  const examples = storage(scope, 'train examples', data.train);
  const statsPipeline = await pipelines.get('train stats', statsShader(data.f, data.train.length));
  const statsGroup = bindGroupOf(device, statsPipeline, TRAIN_STATS_BINDINGS, {
    features: data.features,
    examples,
    stats,
  });
  submitOne(device, 'train stats', statsPipeline, statsGroup, [Math.ceil(data.f / 64), 1]);
  const pipeline = await pipelines.get('train standardize', standardizeShader(data.f, data.n));
  const group = bindGroupOf(device, pipeline, TRAIN_STANDARDIZE_BINDINGS, { features: data.features, stats, rows });
  submitOne(device, 'standardize', pipeline, group, standardizeWorkgroups(data.f, data.n));
  return stats;
}

/** The sizes of one fit: features and classes in vec4s, the parameters' bytes, examples per step, steps per epoch. */
interface Sizes {
  f4: number;
  c4: number;
  paramBytes: number;
  batch: number;
  steps: number;
}

/** Every buffer of one fit: those the epochs read back or write (FitSetup.buffers) and those only the kernels use. */
function fitBuffers(scope: FitScope, data: TrainingData, z: Sizes, rows: GPUBuffer, stats: GPUBuffer) {
  const { device } = scope;
  const usage = { uniform: BUFFER.UNIFORM | BUFFER.COPY_DST, read: BUFFER.MAP_READ | BUFFER.COPY_DST };
  const readBytes = Math.max(8 * data.n, z.paramBytes + 8 * data.f);
  return {
    stats,
    rows,
    order: storage(scope, 'train order', data.train.byteLength),
    params: storage(scope, 'head parameters', z.paramBytes),
    best: storage(scope, 'best head parameters', z.paramBytes),
    loss: storage(scope, 'loss per example', data.n * 4),
    correct: storage(scope, 'correct per example', data.n * 4),
    uniforms: keep(
      scope,
      device.createBuffer({ label: 'train steps', size: (z.steps + 1) * STEP_BYTES, usage: usage.uniform }),
    ),
    read: keep(scope, device.createBuffer({ label: 'train readback', size: readBytes, usage: usage.read })),
    labels: storage(scope, 'train labels', data.labels),
    classWeight: storage(scope, 'train class weights', data.classWeight),
    moments: storage(scope, 'adam moments', 2 * z.paramBytes),
    logits: storage(scope, 'logits', 16 * z.c4 * Math.max(z.batch, data.validation.length)),
    dz: storage(scope, 'dz', 16 * z.c4 * z.batch),
  };
}

/** The training kernels' pipelines for minibatches of `batch`. */
async function fitPipelines(pipelines: PipelineCache, data: TrainingData, batch: number) {
  const [logits, softmax, validation, update] = await Promise.all([
    pipelines.get('train logits', logitsShader(data.f, data.classes)),
    pipelines.get('train softmax', softmaxShader(data.classes, batch, true)),
    pipelines.get('validation', softmaxShader(data.classes, batch, false)),
    pipelines.get('train update', updateShader(data.f, data.classes, batch)),
  ]);
  return { logits, softmax, validation, update };
}

/** The bind groups of step `s` (its uniform slot) over the examples in `order`: a training step, or the validation
 * pass. */
function stepBinder(
  device: GPUDevice,
  p: Awaited<ReturnType<typeof fitPipelines>>,
  all: ReturnType<typeof fitBuffers>,
) {
  const slot = (s: number) => ({ buffer: all.uniforms, offset: s * STEP_BYTES, size: 24 });
  return (s: number, order: GPUBuffer, train: boolean): StepGroups => {
    const step = slot(s);
    const logits = { step, order, ...pick(all, ['rows', 'params', 'logits']) };
    const softmax = train
      ? { step, order, ...pick(all, ['logits', 'labels', 'classWeight', 'dz', 'loss', 'correct']) }
      : { step, order, ...pick(all, ['logits', 'labels', 'loss', 'correct']) };
    return {
      logits: bindGroupOf(device, p.logits, TRAIN_LOGITS_BINDINGS, logits),
      softmax: bindGroupOf(device, train ? p.softmax : p.validation, TRAIN_SOFTMAX_BINDINGS, softmax),
      update: train
        ? bindGroupOf(device, p.update, TRAIN_UPDATE_BINDINGS, {
            step,
            order,
            ...pick(all, ['rows', 'dz', 'params', 'moments']),
          })
        : undefined,
    };
  };
}

/** Buffers, pipelines and a bind group set per minibatch for one fit; every example's row standardized. */
export async function setUpFit(scope: FitScope, data: TrainingData, batchSize: number): Promise<FitSetup> {
  const { device } = scope;
  const [f4, c4] = [quads(data.f), quads(data.classes)];
  const batch = Math.min(batchSize, data.train.length);
  const z: Sizes = { f4, c4, paramBytes: 16 * (4 * f4 + 1) * c4, batch, steps: Math.ceil(data.train.length / batch) };
  // every example's standardized row; the kernels read a minibatch's rows through `order` (or `validation`)
  const rows = storage(scope, 'standardized features', 16 * f4 * data.n);
  const all = fitBuffers(scope, data, z, rows, await standardize(scope, data, rows));
  const p = await fitPipelines(scope.pipelines, data, batch);
  const bind = stepBinder(device, p, all);
  const groups = Array.from({ length: z.steps }, (_, s) => bind(s, all.order, true));
  const validation = data.validation.length ? storage(scope, 'validation examples', data.validation) : undefined;
  const evaluation = validation && bind(z.steps, validation, false);
  device.queue.writeBuffer(all.uniforms, z.steps * STEP_BYTES, stepWords(0, data.validation.length, 0, 0, 1));
  const encodeStep = (pass: GPUComputePassEncoder, g: StepGroups, count: number) => {
    pass.setPipeline(p.logits);
    pass.setBindGroup(0, g.logits);
    pass.dispatchWorkgroups(Math.ceil((quads(count) * c4) / LOGITS_WORKGROUP));
    pass.setPipeline(g.update ? p.softmax : p.validation);
    pass.setBindGroup(0, g.softmax);
    pass.dispatchWorkgroups(Math.ceil((g.update ? batch : count) / 64));
    if (!g.update) return;
    pass.setPipeline(p.update);
    pass.setBindGroup(0, g.update);
    pass.dispatchWorkgroups(Math.ceil(((f4 + 1) * c4) / 64));
  };
  const buffers = pick(all, ['stats', 'order', 'params', 'best', 'loss', 'correct', 'uniforms', 'read']);
  return { paramBytes: z.paramBytes, batch, steps: z.steps, buffers, groups, evaluation, encodeStep };
}

const pick = <T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

/**
 * A linear softmax head trained on the GPU over embeddings already there (set up by
 * src/train/gpu-fit-setup.ts: every example's standardized row once), in epochs: minibatch steps over the
 * epoch's shuffled order of the training examples, whose rows the kernels read through that order
 * (shaders/train_logits.wgsl; train_softmax.wgsl: loss and dz; train_update.wgsl: gradient and AdamW),
 * every step of an epoch and the validation pass in one submission, one small readback per epoch (each
 * example's loss and whether it was right). Early stopping keeps the parameters of the epoch with the
 * lowest validation loss.
 */
import type { EpochRecord } from '../api/training.js';
import { TrainingError } from '../errors.js';
import { quads, STEP_BYTES } from '../kernels/train.js';
import { mapRead } from '../runtime/buffers.js';
import { PipelineCache } from '../runtime/pipelines.js';
import { shuffled } from '../util/random.js';
import { type FitScope, type FitSetup, setUpFit, stepWords, type TrainingData } from './gpu-fit-setup.js';

export type { TrainingData };

export interface GpuFitSettings {
  epochs: number;
  learningRate: number;
  weightDecay: number;
  batchSize: number;
  seed: number;
  /** Epochs without a lower validation loss before stopping (with a validation split). */
  patience: number;
  onEpoch?: (record: EpochRecord) => void;
}

export interface TrainedHead {
  /** [F][C] on standardized features, and [C]. */
  weights: Float32Array;
  bias: Float32Array;
  /** The standardization: per feature, the mean and the scale 1 / (deviation * sqrt(F)) (0 for a constant feature). */
  mean: Float32Array;
  scale: Float32Array;
  history: EpochRecord[];
  /** The epoch whose parameters these are (the best by validation loss, else the last). */
  epoch: number;
}

export class GpuHeadTrainer {
  private readonly scope: FitScope;

  constructor(device: GPUDevice) {
    this.scope = { device, pipelines: new PipelineCache(device), buffers: [] };
  }

  async fit(data: TrainingData, settings: GpuFitSettings): Promise<TrainedHead> {
    const setup = await setUpFit(this.scope, data, settings.batchSize);
    const history: EpochRecord[] = [];
    let bestLoss = Infinity;
    let bestEpoch = 0;
    let keepBest = false;
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      const record = await this.epoch(setup, data, settings, epoch, keepBest);
      history.push(record);
      settings.onEpoch?.(record);
      const { loss, validationLoss } = record;
      if (!Number.isFinite(loss) || (validationLoss !== undefined && !Number.isFinite(validationLoss))) {
        const advice = `use a lower learningRate than ${settings.learningRate}`;
        throw new TrainingError(`training diverged at epoch ${epoch} (the loss is not finite): ${advice}`);
      }
      keepBest = validationLoss !== undefined && validationLoss < bestLoss;
      if (keepBest) [bestLoss, bestEpoch] = [validationLoss!, epoch];
      if (validationLoss !== undefined && epoch - bestEpoch >= settings.patience) break;
    }
    const last = keepBest || !data.validation.length;
    const { params, best } = setup.buffers;
    return this.result(setup, data, last ? params : best, history, last ? history.length : bestEpoch);
  }

  /** One epoch: every step and the validation pass in one submission (after keeping the parameters if the epoch before
   * was the best). */
  private async epoch(
    setup: FitSetup,
    data: TrainingData,
    settings: GpuFitSettings,
    epoch: number,
    keepBest: boolean,
  ): Promise<EpochRecord> {
    const { device } = this.scope;
    const { batch, steps, buffers } = setup;
    const order = shuffled(data.train, settings.seed, epoch);
    device.queue.writeBuffer(buffers.order, 0, order.buffer, order.byteOffset, order.byteLength);
    const count = (s: number) => Math.min(batch, data.train.length - s * batch);
    for (let s = 0; s < steps; s++) {
      const t = (epoch - 1) * steps + s + 1; // AdamW's step count
      const words = stepWords(s * batch, count(s), settings.learningRate, settings.weightDecay, t);
      device.queue.writeBuffer(buffers.uniforms, s * STEP_BYTES, words);
    }
    const encoder = device.createCommandEncoder({ label: `epoch ${epoch}` });
    if (keepBest) encoder.copyBufferToBuffer(buffers.params, 0, buffers.best, 0, setup.paramBytes);
    const pass = encoder.beginComputePass();
    for (let s = 0; s < steps; s++) setup.encodeStep(pass, setup.groups[s]!, count(s));
    if (setup.evaluation) setup.encodeStep(pass, setup.evaluation, data.validation.length);
    pass.end();
    encoder.copyBufferToBuffer(buffers.loss, 0, buffers.read, 0, 4 * data.n);
    encoder.copyBufferToBuffer(buffers.correct, 0, buffers.read, 4 * data.n, 4 * data.n);
    device.queue.submit([encoder.finish()]);
    return epochRecord(await mapRead(buffers.read, 0, 8 * data.n), data, epoch);
  }

  /** The parameters in `from` (padded to 4 features and 4 classes) without the padding, and the statistics, read back.
   * */
  private async result(
    setup: FitSetup,
    data: TrainingData,
    from: GPUBuffer,
    history: EpochRecord[],
    epoch: number,
  ): Promise<TrainedHead> {
    const { device } = this.scope;
    const { f, classes: c } = data;
    const cp = 4 * quads(c);
    const paramFloats = (4 * quads(f) + 1) * cp;
    const { read, stats } = setup.buffers;
    const encoder = device.createCommandEncoder({ label: 'read the head' });
    encoder.copyBufferToBuffer(from, 0, read, 0, 4 * paramFloats);
    encoder.copyBufferToBuffer(stats, 0, read, 4 * paramFloats, 8 * f);
    device.queue.submit([encoder.finish()]);
    const values = new Float32Array(await mapRead(read, 0, 4 * paramFloats + 8 * f));
    const weights = new Float32Array(f * c);
    for (let i = 0; i < f; i++) weights.set(values.subarray(i * cp, i * cp + c), i * c);
    const biasAt = 4 * quads(f) * cp;
    return {
      weights,
      bias: values.slice(biasAt, biasAt + c),
      mean: values.slice(paramFloats, paramFloats + f),
      scale: values.slice(paramFloats + f, paramFloats + 2 * f),
      history,
      epoch,
    };
  }

  destroy(): void {
    for (const b of this.scope.buffers) b.destroy();
    this.scope.buffers.length = 0;
  }
}

/** The epoch's losses and right answers (read back), averaged over each split. */
function epochRecord(bytes: ArrayBuffer, data: TrainingData, epoch: number): EpochRecord {
  const loss = new Float32Array(bytes, 0, data.n);
  const correct = new Uint32Array(bytes, 4 * data.n, data.n);
  const mean = (split: Uint32Array, v: ArrayLike<number>) => split.reduce((s, i) => s + v[i]!, 0) / split.length;
  const record: EpochRecord = { epoch, loss: mean(data.train, loss), accuracy: mean(data.train, correct) };
  if (!data.validation.length) return record;
  return { ...record, validationLoss: mean(data.validation, loss), validationAccuracy: mean(data.validation, correct) };
}

/**
 * A linear softmax head trained on the GPU over embeddings already there: the statistics of the training
 * examples' features and every example's standardized row once (shaders/train_stats.wgsl,
 * train_standardize.wgsl), then epochs: minibatch steps over the epoch's shuffled order of the training
 * examples, whose rows the kernels read through that order (train_logits.wgsl; train_softmax.wgsl: loss
 * and dz; train_update.wgsl: gradient and AdamW), every step of an epoch and the validation pass in one submission, one small
 * readback per epoch (each example's loss and whether it was right). Early stopping keeps the parameters
 * of the epoch with the lowest validation loss. */
import { TrainingError } from '../errors.js';
import { whileGPU } from '../runtime/keep-alive.js';
import { PipelineCache } from '../runtime/pipelines.js';
import { BUFFER, MAP_MODE_READ } from '../runtime/usage.js';
import {
  LOGITS_WORKGROUP,
  logitsShader,
  quads,
  softmaxShader,
  standardizeShader,
  standardizeWorkgroups,
  statsShader,
  STEP_BYTES,
  TRAIN_STANDARDIZE_BINDINGS,
  TRAIN_LOGITS_BINDINGS,
  TRAIN_SOFTMAX_BINDINGS,
  TRAIN_STATS_BINDINGS,
  TRAIN_UPDATE_BINDINGS,
  updateShader,
} from './kernels.js';
import { shuffled } from '../util/random.js';

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

/** One epoch: the training examples' mean loss and accuracy (each seen before its step's update), and the validation split's after the epoch. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
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

const storage = (device: GPUDevice, label: string, data: ArrayBufferView | number) => {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(size / 4) * 4),
    usage: BUFFER.STORAGE | BUFFER.COPY_DST | BUFFER.COPY_SRC,
  });
  if (typeof data !== 'number') device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
};

/** The step uniform of shaders/train_*.wgsl. */
function stepWords(start: number, count: number, lr: number, decay: number, t: number): ArrayBuffer {
  const buf = new ArrayBuffer(24);
  new Uint32Array(buf, 0, 2).set([start, count]);
  new Float32Array(buf, 8, 4).set([lr, decay, 1 - 0.9 ** t, 1 - 0.999 ** t]);
  return buf;
}

export class GpuHeadTrainer {
  private readonly buffers: GPUBuffer[] = [];
  private readonly pipelines: PipelineCache;

  constructor(private readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
  }

  private buffer(label: string, data: ArrayBufferView | number): GPUBuffer {
    const b = storage(this.device, label, data);
    this.buffers.push(b);
    return b;
  }

  private bindGroup(
    pipeline: GPUComputePipeline,
    table: Record<string, { binding: number }>,
    resources: Record<string, GPUBuffer | GPUBufferBinding>,
  ): GPUBindGroup {
    const entries = Object.entries(resources).map(([name, r]) => ({
      binding: table[name]!.binding,
      resource: 'buffer' in r ? r : { buffer: r },
    }));
    return this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  }

  /** The statistics of the training examples' features: F means, then F scales. */
  private async statistics(data: TrainingData): Promise<GPUBuffer> {
    const stats = this.buffer('train stats', 8 * data.f);
    const pipeline = await this.pipelines.get('train stats', statsShader(data.f, data.train.length));
    const encoder = this.device.createCommandEncoder({ label: 'train stats' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      this.bindGroup(pipeline, TRAIN_STATS_BINDINGS, {
        features: data.features,
        examples: this.buffer('train examples', data.train),
        stats,
      }),
    );
    pass.dispatchWorkgroups(Math.ceil(data.f / 64));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    return stats;
  }

  /** Encodes every example's standardized row into `rows`. */
  private async standardizer(
    data: TrainingData,
    stats: GPUBuffer,
    rows: GPUBuffer,
  ): Promise<(pass: GPUComputePassEncoder) => void> {
    const pipeline = await this.pipelines.get('train standardize', standardizeShader(data.f, data.n));
    const group = this.bindGroup(pipeline, TRAIN_STANDARDIZE_BINDINGS, { features: data.features, stats, rows });
    const workgroups = standardizeWorkgroups(data.f, data.n);
    return (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...workgroups);
    };
  }

  async fit(data: TrainingData, settings: GpuFitSettings): Promise<TrainedHead> {
    const { device } = this;
    const {
      paramBytes,
      batch,
      steps,
      stats,
      order,
      params,
      best,
      loss,
      correct,
      uniforms,
      read,
      groups,
      evaluation,
      encodeStep,
    } = await this.plan(data, settings);
    const history: EpochRecord[] = [];
    let bestLoss = Infinity,
      bestEpoch = 0,
      keepBest = false,
      t = 0;
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      const shuffledTrain = shuffled(data.train, settings.seed, epoch);
      device.queue.writeBuffer(order, 0, shuffledTrain.buffer, shuffledTrain.byteOffset, shuffledTrain.byteLength);
      const count = (s: number) => Math.min(batch, data.train.length - s * batch);
      for (let s = 0; s < steps; s++)
        device.queue.writeBuffer(
          uniforms,
          s * STEP_BYTES,
          stepWords(s * batch, count(s), settings.learningRate, settings.weightDecay, ++t),
        );
      const encoder = device.createCommandEncoder({ label: `epoch ${epoch}` });
      if (keepBest) encoder.copyBufferToBuffer(params, 0, best, 0, paramBytes); // the epoch before was the best so far
      const pass = encoder.beginComputePass();
      for (let s = 0; s < steps; s++) encodeStep(pass, groups[s]!, count(s));
      if (evaluation) encodeStep(pass, evaluation, data.validation.length);
      pass.end();
      encoder.copyBufferToBuffer(loss, 0, read, 0, 4 * data.n);
      encoder.copyBufferToBuffer(correct, 0, read, 4 * data.n, 4 * data.n);
      device.queue.submit([encoder.finish()]);
      const record = await this.epochRecord(read, data, epoch);
      history.push(record);
      settings.onEpoch?.(record);
      if (
        !Number.isFinite(record.loss) ||
        (record.validationLoss !== undefined && !Number.isFinite(record.validationLoss))
      ) {
        throw new TrainingError(
          `training diverged at epoch ${epoch} (the loss is not finite): use a lower learningRate than ${settings.learningRate}`,
        );
      }
      keepBest = record.validationLoss !== undefined && record.validationLoss < bestLoss;
      if (keepBest) [bestLoss, bestEpoch] = [record.validationLoss!, epoch];
      if (record.validationLoss !== undefined && epoch - bestEpoch >= settings.patience) break;
    }
    return this.result(
      data,
      keepBest || !data.validation.length ? params : best,
      stats,
      read,
      history,
      keepBest || !data.validation.length ? history.length : bestEpoch,
    );
  }

  /** Buffers, pipelines and a bind group set per minibatch for one fit; every example's row standardized. */
  private async plan(data: TrainingData, settings: GpuFitSettings) {
    const { device } = this;
    const [f4, c4] = [quads(data.f), quads(data.classes)];
    const paramBytes = 16 * (4 * f4 + 1) * c4;
    const batch = Math.min(settings.batchSize, data.train.length);
    const steps = Math.ceil(data.train.length / batch);
    const stats = await this.statistics(data);
    const labels = this.buffer('train labels', data.labels);
    const classWeight = this.buffer('train class weights', data.classWeight);
    const order = this.buffer('train order', data.train.byteLength);
    const validation = this.buffer('validation examples', data.validation);
    // every example's standardized row; the kernels read a minibatch's rows through `order` (or `validation`)
    const rows = this.buffer('standardized features', 16 * f4 * data.n);
    const params = this.buffer('head parameters', paramBytes);
    const best = this.buffer('best head parameters', paramBytes);
    const moments = this.buffer('adam moments', 2 * paramBytes);
    const logits = this.buffer('logits', 16 * c4 * Math.max(batch, data.validation.length));
    const dz = this.buffer('dz', 16 * c4 * batch);
    const loss = this.buffer('loss per example', data.n * 4);
    const correct = this.buffer('correct per example', data.n * 4);
    const uniforms = device.createBuffer({
      label: 'train steps',
      size: (steps + 1) * STEP_BYTES,
      usage: BUFFER.UNIFORM | BUFFER.COPY_DST,
    });
    this.buffers.push(uniforms);
    const read = device.createBuffer({
      label: 'train readback',
      size: Math.max(8 * data.n, paramBytes + 8 * data.f),
      usage: BUFFER.MAP_READ | BUFFER.COPY_DST,
    });
    this.buffers.push(read);
    const [logitsPipeline, softmaxPipeline, evalPipeline, updatePipeline, standardize] = await Promise.all([
      this.pipelines.get('train logits', logitsShader(data.f, data.classes)),
      this.pipelines.get('train softmax', softmaxShader(data.classes, batch, true)),
      this.pipelines.get('validation', softmaxShader(data.classes, batch, false)),
      this.pipelines.get('train update', updateShader(data.f, data.classes, batch)),
      this.standardizer(data, stats, rows),
    ]);
    const slot = (s: number) => ({ buffer: uniforms, offset: s * STEP_BYTES, size: 24 });
    const bind = (s: number, examples: GPUBuffer, train: boolean) => ({
      logits: this.bindGroup(logitsPipeline, TRAIN_LOGITS_BINDINGS, {
        step: slot(s),
        rows,
        order: examples,
        params,
        logits,
      }),
      softmax: train
        ? this.bindGroup(softmaxPipeline, TRAIN_SOFTMAX_BINDINGS, {
            step: slot(s),
            logits,
            labels,
            classWeight,
            order: examples,
            dz,
            loss,
            correct,
          })
        : this.bindGroup(evalPipeline, TRAIN_SOFTMAX_BINDINGS, {
            step: slot(s),
            logits,
            labels,
            order: examples,
            loss,
            correct,
          }),
      update: train
        ? this.bindGroup(updatePipeline, TRAIN_UPDATE_BINDINGS, {
            step: slot(s),
            rows,
            order: examples,
            dz,
            params,
            moments,
          })
        : undefined,
    });
    const groups = Array.from({ length: steps }, (_, s) => bind(s, order, true));
    const evaluation = data.validation.length ? bind(steps, validation, false) : undefined;
    device.queue.writeBuffer(uniforms, steps * STEP_BYTES, stepWords(0, data.validation.length, 0, 0, 1));
    const first = device.createCommandEncoder({ label: 'standardize' });
    const pass = first.beginComputePass();
    standardize(pass);
    pass.end();
    device.queue.submit([first.finish()]);
    const encodeStep = (pass: GPUComputePassEncoder, g: ReturnType<typeof bind>, count: number) => {
      pass.setPipeline(logitsPipeline);
      pass.setBindGroup(0, g.logits);
      pass.dispatchWorkgroups(Math.ceil((quads(count) * c4) / LOGITS_WORKGROUP));
      pass.setPipeline(g.update ? softmaxPipeline : evalPipeline);
      pass.setBindGroup(0, g.softmax);
      pass.dispatchWorkgroups(Math.ceil((g.update ? batch : count) / 64));
      if (!g.update) return;
      pass.setPipeline(updatePipeline);
      pass.setBindGroup(0, g.update);
      pass.dispatchWorkgroups(Math.ceil(((f4 + 1) * c4) / 64));
    };
    return {
      paramBytes,
      batch,
      steps,
      stats,
      order,
      params,
      best,
      loss,
      correct,
      uniforms,
      read,
      groups,
      evaluation,
      encodeStep,
    };
  }

  /** Reads the epoch's losses and right answers, and averages them over each split. */
  private async epochRecord(read: GPUBuffer, data: TrainingData, epoch: number): Promise<EpochRecord> {
    await whileGPU(read.mapAsync(MAP_MODE_READ, 0, 8 * data.n));
    const bytes = read.getMappedRange(0, 8 * data.n);
    const loss = new Float32Array(bytes, 0, data.n);
    const correct = new Uint32Array(bytes, 4 * data.n, data.n);
    const mean = (split: Uint32Array, v: ArrayLike<number>) => split.reduce((s, i) => s + v[i]!, 0) / split.length;
    const record: EpochRecord = { epoch, loss: mean(data.train, loss), accuracy: mean(data.train, correct) };
    if (data.validation.length)
      Object.assign(record, {
        validationLoss: mean(data.validation, loss),
        validationAccuracy: mean(data.validation, correct),
      });
    read.unmap();
    return record;
  }

  /** The parameters in `from` (padded to 4 features and 4 classes) without the padding, and the statistics, read back. */
  private async result(
    data: TrainingData,
    from: GPUBuffer,
    stats: GPUBuffer,
    read: GPUBuffer,
    history: EpochRecord[],
    epoch: number,
  ): Promise<TrainedHead> {
    const { f, classes: c } = data;
    const cp = 4 * quads(c);
    const paramFloats = (4 * quads(f) + 1) * cp;
    const encoder = this.device.createCommandEncoder({ label: 'read the head' });
    encoder.copyBufferToBuffer(from, 0, read, 0, 4 * paramFloats);
    encoder.copyBufferToBuffer(stats, 0, read, 4 * paramFloats, 8 * f);
    this.device.queue.submit([encoder.finish()]);
    await whileGPU(read.mapAsync(MAP_MODE_READ, 0, 4 * paramFloats + 8 * f));
    const values = new Float32Array(read.getMappedRange(0, 4 * paramFloats + 8 * f).slice(0));
    read.unmap();
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
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}

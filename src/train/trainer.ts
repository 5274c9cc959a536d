/**
 * New classes for a model: examples gathered with a label (images, or features already computed), each
 * image's embedding computed once by the engine in batches straight into a GPU buffer, then a linear
 * softmax head trained there (src/train/gpu-trainer.ts) or, for a few examples a class, the nearest class
 * mean; the feature standardization is folded into the head, so the new model's classify, explain (mean
 * of a map + bias = logit) and embed work as any model's. `model.trainer()` makes one.
 */
import type { ResNetModel } from '../api/model.js';
import type { EpochRecord, FitOptions, FitResultOf, ModelTrainer } from '../api/training.js';
import { InputError, TrainingError } from '../errors.js';
import { checkHead, type Head } from '../graph/head.js';
import { CENTER_VIEW, type CropView } from '../preprocess/preprocess.js';
import { readBuffer, storageBuffer } from '../runtime/buffers.js';
import { firstNonFinite } from '../util/vectors.js';
import { checkAugment, planViews } from './augment.js';
import { GpuHeadTrainer } from './gpu-trainer.js';
import { foldStandardization, nearestMeanHead, predictions, splitExamples } from './head-math.js';

interface Example<I> {
  image?: I;
  features?: Float32Array;
  label: string;
}

/** A count of names, and the first one ("1 (cat)"). */
const countOf = (names: readonly string[]) => `${names.length}${names.length ? ` (${names[0]})` : ''}`;

const DEFAULTS = {
  method: 'softmax',
  epochs: 60,
  learningRate: 0.01,
  weightDecay: 1e-4,
  batchSize: 32,
  validationSplit: 0.2,
  patience: 10,
  balance: true,
  seed: 1,
} as const;

export class Trainer<I> implements ModelTrainer<I, ResNetModel<I>> {
  private readonly examples: Array<Example<I>> = [];

  constructor(private readonly model: ResNetModel<I>) {}

  /** An image of class `label` (kept until fit embeds it). */
  add(image: I, label: string): this {
    this.examples.push({ image, label: checkLabel(label) });
    return this;
  }

  /** An embedding already computed (model.embed, or `features` of infer) of class `label`. */
  addFeatures(features: Float32Array, label: string): this {
    if (!(features instanceof Float32Array) || features.length !== this.model.info.features)
      throw new InputError(
        `features must be a Float32Array of ${this.model.info.features} values (this model's embedding)`,
      );
    const i = firstNonFinite(features);
    if (i >= 0) throw new InputError(`features[${i}] is ${features[i]}: every value must be finite`);
    this.examples.push({ features, label: checkLabel(label) });
    return this;
  }

  /** Examples per class, in the order the classes first came. */
  get counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const e of this.examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
    return counts;
  }

  /** Embeds the examples (and, with `augment`, more views of the training images), trains the head and returns the
   * model with it. */
  async fit(options: FitOptions = {}): Promise<FitResultOf<ResNetModel<I>>> {
    const o = { ...DEFAULTS, ...options };
    checkFitOptions(o);
    checkAugment(o.augment);
    const labels = [...this.counts.keys()];
    if (labels.length < 2)
      throw new InputError(`training needs at least 2 classes with examples, got ${countOf(labels)}`);
    const f = this.model.info.features;
    const gpu = new GpuHeadTrainer(this.model.device);
    let features: GPUBuffer | undefined;
    try {
      const t0 = performance.now();
      const embedded = await this.embedAll(labels, o);
      features = embedded.features;
      const { rows, classOf, split, skipped, exampleOf } = embedded;
      const raw = new Float32Array(await readBuffer(this.model.device, features, 0, rows * f * 4));
      const bad = firstNonFinite(raw);
      if (bad >= 0)
        throw new TrainingError(
          `the embedding of example ${exampleOf(Math.floor(bad / f))} (${labels[classOf[Math.floor(bad / f)]!]}) ` +
            `is not finite: the network overflowed on that image`,
        );
      const t1 = performance.now();
      let head: Head,
        history: EpochRecord[] = [],
        epoch = 0;
      if (o.method === 'mean') head = nearestMeanHead(raw, f, classOf, split.train, labels);
      else {
        const classWeight = new Float32Array(labels.length).map((_, c) =>
          o.balance ? split.train.length / (labels.length * split.train.filter((i) => classOf[i] === c).length) : 1,
        );
        const trained = await gpu.fit(
          {
            features,
            n: rows,
            f,
            classes: labels.length,
            labels: classOf,
            train: split.train,
            validation: split.validation,
            classWeight,
          },
          o,
        );
        ({ history, epoch } = trained);
        head = foldStandardization(trained, labels);
      }
      const t2 = performance.now();
      checkHead(head);
      const model = await this.model.withHead(head);
      const validation = split.validation.length
        ? confusionOf(predictions(head, raw, f, split.validation), classOf, split.validation, labels.length)
        : undefined;
      return {
        model,
        head,
        history,
        epoch,
        validation,
        augmented: rows - this.examples.length,
        skipped: skipped.map(({ index, error }) => ({ index, label: this.examples[index]!.label, error })),
        milliseconds: { embedding: t1 - t0, training: t2 - t1 },
      };
    } finally {
      gpu.destroy();
      features?.destroy();
    }
  }

  /**
   * Every example's embedding (rows 0 .. n-1), the split, then with `augment` the views of the training
   * images (rows n ..), which join the training split: the features buffer, its rows, each row's class.
   */
  private async embedAll(labels: string[], o: FitOptions & { seed: number; validationSplit: number }) {
    const {
      device,
      info: { features: f },
    } = this.model;
    const n = this.examples.length;
    let features = storageBuffer(device, 'training features', n * f * 4);
    try {
      const skipped = await this.embed(
        features,
        this.examples.map((_, i) => ({ example: i, row: i, view: CENTER_VIEW })),
        (done) => o.onEmbedded?.(done, n),
      );
      const kept = Uint32Array.from(this.examples.keys()).filter((i) => !skipped.some((s) => s.index === i));
      let classOf = Uint32Array.from(this.examples, (e) => labels.indexOf(e.label));
      const split = splitExamples(kept, classOf, labels.length, o.validationSplit, o.seed);
      const empty = labels.filter((_, c) => !split.train.some((i) => classOf[i] === c));
      if (empty.length) throw new InputError(`no readable training example for ${empty.join(', ')}`);
      if (!o.augment) return { features, rows: n, classOf, split, skipped, exampleOf: (row: number) => row };
      const views = planViews(
        [...split.train].filter((i) => this.examples[i]!.image !== undefined),
        o.augment,
        o.seed,
      );
      const all = storageBuffer(device, 'training features and views', (n + views.length) * f * 4);
      const encoder = device.createCommandEncoder({ label: 'keep the embeddings' });
      encoder.copyBufferToBuffer(features, 0, all, 0, n * f * 4);
      device.queue.submit([encoder.finish()]);
      features.destroy();
      features = all;
      const failed = await this.embed(
        features,
        views.map((v, k) => ({ ...v, row: n + k })),
        (done) => o.onEmbedded?.(n + done, n + views.length),
      );
      const unread = new Set(failed.map((s) => s.row));
      classOf = Uint32Array.from(
        { length: n + views.length },
        (_, row) => classOf[row < n ? row : views[row - n]!.example]!,
      );
      const train = Uint32Array.from([...split.train, ...views.map((_, k) => n + k).filter((row) => !unread.has(row))]);
      return {
        features,
        rows: n + views.length,
        classOf,
        split: { train, validation: split.validation },
        skipped,
        exampleOf: (row: number) => (row < n ? row : views[row - n]!.example),
      };
    } catch (err) {
      features.destroy();
      throw err;
    }
  }

  /**
   * Embeds each job's example, through its view, into row `row` of `features` ([rows][f]): images in
   * batches through the engine (runs of consecutive rows), features-only examples written. Returns the
   * jobs whose image could not be read (their rows stay as they were).
   */
  private async embed(
    features: GPUBuffer,
    jobs: EmbedJob[],
    onEmbedded: (done: number) => void,
  ): Promise<Array<{ index: number; row: number; error: string }>> {
    const model = this.model;
    const f = model.info.features;
    const [h, w, c] = model.info.inputShape;
    const skipped: Array<{ index: number; row: number; error: string }> = [];
    const batch = Math.max(1, model.maxBatch(8));
    let done = 0;
    const pending: EmbedJob[] = [];
    const flush = async () => {
      if (!pending.length) return;
      // an image that cannot be read stays zeros, and is left out
      const tensor = new Float32Array(pending.length * h * w * c);
      for (const [k, job] of pending.entries()) {
        try {
          tensor.set(await model.preprocess(this.examples[job.example]!.image!, job.view), k * h * w * c);
        } catch (err) {
          skipped.push({ index: job.example, row: job.row, error: (err as Error).message });
        }
      }
      // consecutive runs land in place: the batch is a run of rows
      await model.infer(tensor, {
        batch: pending.length,
        output: 'features',
        into: { buffer: features, offset: pending[0]!.row * f * 4 },
      });
      onEmbedded((done += pending.length));
      pending.length = 0;
    };
    for (const job of jobs) {
      const e = this.examples[job.example]!;
      if (e.features) {
        model.device.queue.writeBuffer(
          features,
          job.row * f * 4,
          e.features.buffer,
          e.features.byteOffset,
          e.features.byteLength,
        );
        continue;
      }
      const texture = await model.imageTexture(e.image!).catch(() => undefined);
      if (texture) {
        try {
          await model.inferTexture(texture, {
            output: 'features',
            into: { buffer: features, offset: job.row * f * 4 },
            view: job.view,
          });
        } finally {
          texture.destroy();
        }
        onEmbedded(++done);
        continue;
      }
      if (pending.length && (pending.length === batch || pending.at(-1)!.row !== job.row - 1)) await flush();
      pending.push(job);
    }
    await flush();
    return skipped;
  }
}

/** One embedding to compute: example `example` through `view`, into row `row`. */
interface EmbedJob {
  example: number;
  row: number;
  view: CropView;
}

function checkLabel(label: string): string {
  if (typeof label !== 'string' || !label.trim())
    throw new InputError(`a label must be a non-empty string, got ${JSON.stringify(label)}`);
  return label;
}

function checkFitOptions(o: Required<Omit<FitOptions, 'onEpoch' | 'onEmbedded' | 'augment'>>): void {
  const bad = (what: string, value: unknown) => new InputError(`${what}, got ${JSON.stringify(value)}`);
  if (o.method !== 'softmax' && o.method !== 'mean') throw bad("method must be 'softmax' or 'mean'", o.method);
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) throw bad('epochs must be a positive integer', o.epochs);
  if (!(o.learningRate > 0 && Number.isFinite(o.learningRate)))
    throw bad('learningRate must be a positive number', o.learningRate);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay)))
    throw bad('weightDecay must be a number >= 0', o.weightDecay);
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1))
    throw bad('batchSize must be a positive integer', o.batchSize);
  if (!(o.validationSplit >= 0 && o.validationSplit < 1))
    throw bad('validationSplit must be in [0, 1)', o.validationSplit);
  if (!(Number.isInteger(o.patience) && o.patience >= 1)) throw bad('patience must be a positive integer', o.patience);
  if (!Number.isInteger(o.seed)) throw bad('seed must be an integer', o.seed);
}

function confusionOf(
  predicted: Uint32Array,
  classOf: Uint32Array,
  examples: Uint32Array,
  classes: number,
): NonNullable<FitResultOf['validation']> {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let right = 0;
  examples.forEach((i, k) => {
    confusion[classOf[i]!]![predicted[k]!]!++;
    if (predicted[k] === classOf[i]) right++;
  });
  return { accuracy: right / examples.length, confusion, examples: examples.length };
}

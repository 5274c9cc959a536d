/**
 * Dynamic batching for one model: concurrent requests wait in one queue and run together as one GPU batch,
 * as many images as `maxBatch` allows, once the batch is full or its oldest request has waited
 * `maxQueueDelayMs` (never longer: a request that finds the GPU idle and its batch not full waits at most
 * that). One batch runs at a time; each request gets its own rows of the result. Requests asking for another
 * output (logits, features) batch with their own kind. The queue holds at most `maxQueue` images: beyond it a
 * request is refused at once (503), so memory does not climb under a flood.
 */
import { tooLarge, unavailable } from './errors.js';
import { concatArrays } from '../util/vectors.js';

export type OutputKind = 'probabilities' | 'logits' | 'features';

export interface BatchRun {
  /** Images in the batch and how many requests they came from. */
  images: number;
  requests: number;
  /** Each request's wait in the queue, ms. */
  waits: number[];
  computeMs: number;
}

export interface BatcherOptions {
  maxBatch: number;
  maxQueueDelayMs: number;
  /** Images the queue may hold. */
  maxQueue: number;
  /** Runs `images` images (NHWC floats, one after another) and returns `kind` for each, one after another. */
  run: (input: Float32Array, images: number, kind: OutputKind) => Promise<Float32Array>;
  /** Told of every batch run (metrics). */
  onBatch?: (run: BatchRun) => void;
}

interface Job {
  input: Float32Array;
  images: number;
  kind: OutputKind;
  enqueued: number;
  resolve: (rows: Float32Array) => void;
  reject: (err: unknown) => void;
  /** Set when the caller stopped waiting (its timeout): the job is skipped. */
  cancelled: boolean;
}

/** What `submit` returns: the rows, and a way to withdraw the request while it still waits. */
export interface Submitted {
  result: Promise<Float32Array>;
  cancel: () => void;
}

export class Batcher {
  private queue: Job[] = [];
  private queuedImages = 0;
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: BatcherOptions) {
    if (!(Number.isInteger(options.maxBatch) && options.maxBatch >= 1))
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
  }

  /** Images waiting (not the batch running). */
  get depth(): number {
    return this.queuedImages;
  }

  /**
   * Whether `images` more images fit in the queue now: a request larger than the whole queue is refused for good
   * (413), one that does not fit now for the moment (503). Checked before a request's images are decoded too.
   */
  room(images: number): void {
    const { maxQueue } = this.options;
    if (images > maxQueue)
      throw tooLarge(`${images} images are more than the queue holds (${maxQueue}): send them in smaller requests`);
    if (this.queuedImages + images > maxQueue)
      throw unavailable(
        `the queue is full (${this.queuedImages} images waiting, at most ${maxQueue}): try again later`,
      );
  }

  /** Queues `images` images (NHWC floats); a request over maxBatch runs as several batches, its rows joined. */
  submit(input: Float32Array, images: number, kind: OutputKind): Submitted {
    this.room(images);
    const per = input.length / images;
    const jobs: Job[] = [];
    const parts: Array<Promise<Float32Array>> = [];
    for (let first = 0; first < images; first += this.options.maxBatch) {
      const n = Math.min(this.options.maxBatch, images - first);
      parts.push(
        new Promise<Float32Array>((resolve, reject) => {
          const input1 = input.subarray(first * per, (first + n) * per);
          jobs.push({ input: input1, images: n, kind, enqueued: performance.now(), resolve, reject, cancelled: false });
        }),
      );
    }
    for (const job of jobs) this.queue.push(job);
    this.queuedImages += images;
    this.schedule();
    const result = parts.length === 1 ? parts[0]! : Promise.all(parts).then(concatArrays);
    const cancel = () => {
      for (const job of jobs) {
        if (job.cancelled || !this.queue.includes(job)) continue;
        job.cancelled = true;
        this.queuedImages -= job.images;
      }
      this.live(); // (out of the queue now, not when the batch running ends)
    };
    return { result, cancel };
  }

  /** Resolves when nothing waits and no batch runs. */
  async idle(): Promise<void> {
    while (this.running || this.live().length) {
      await (this.running ?? new Promise((r) => setTimeout(r, this.options.maxQueueDelayMs)));
    }
  }

  private live(): Job[] {
    this.queue = this.queue.filter((j) => !j.cancelled);
    return this.queue;
  }

  /** Runs a batch now if it is full or its oldest request is due, else wakes up when it is due. */
  private schedule(): void {
    if (this.running) return;
    const queue = this.live();
    if (!queue.length) return;
    const due = queue[0]!.enqueued + this.options.maxQueueDelayMs - performance.now();
    const full = this.queuedImages >= this.options.maxBatch;
    if (!full && due > 0) {
      if (!this.timer)
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, due);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.runBatch(this.take()).finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  /** The oldest request's kind: its requests in order, as many as fit in maxBatch images. */
  private take(): Job[] {
    const kind = this.queue[0]!.kind;
    const batch: Job[] = [];
    let images = 0;
    for (const job of this.queue) {
      if (job.kind !== kind || images + job.images > this.options.maxBatch) continue;
      batch.push(job);
      images += job.images;
    }
    this.queue = this.queue.filter((j) => !batch.includes(j));
    this.queuedImages -= images;
    return batch;
  }

  private async runBatch(batch: Job[]): Promise<void> {
    const images = batch.reduce((n, j) => n + j.images, 0);
    const input = concatArrays(batch.map((j) => j.input));
    const started = performance.now();
    try {
      const out = await this.options.run(input, images, batch[0]!.kind);
      const per = out.length / images;
      let row = 0;
      for (const j of batch) {
        j.resolve(out.slice(row * per, (row + j.images) * per));
        row += j.images;
      }
    } catch (err) {
      for (const j of batch) j.reject(err);
    }
    const waits = batch.map((j) => started - j.enqueued);
    this.options.onBatch?.({ images, requests: batch.length, waits, computeMs: performance.now() - started });
  }
}

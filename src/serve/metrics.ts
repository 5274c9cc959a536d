/**
 * The server's Prometheus metrics (prom-client, one registry per server): requests by model, protocol and
 * status; request latency, queue wait, GPU compute and batch size histograms; queue depth and GPU bytes per
 * model, read when scraped; and prom-client's process metrics (resident memory, event loop lag, ...).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchRun } from './batcher.js';
import type { ServedModel } from './served-model.js';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'model' | 'protocol' | 'code'>;
  private readonly latency: Histogram<'model' | 'protocol'>;
  private readonly queueWait: Histogram<'model'>;
  private readonly compute: Histogram<'model'>;
  private readonly batchSize: Histogram<'model'>;

  constructor(models: () => ServedModel[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'webgpu_resnet_requests_total',
      help: 'Requests answered, by model, protocol (rest, grpc, image) and status code',
      labelNames: ['model', 'protocol', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'webgpu_resnet_request_duration_seconds',
      help: 'Time from a request read whole to its answer',
      labelNames: ['model', 'protocol'],
      buckets: SECONDS,
      registers,
    });
    this.queueWait = new Histogram({
      name: 'webgpu_resnet_queue_wait_seconds',
      help: 'Time a request waited in its model queue for a batch',
      labelNames: ['model'],
      buckets: SECONDS,
      registers,
    });
    this.compute = new Histogram({
      name: 'webgpu_resnet_compute_seconds',
      help: 'GPU time of a batch, upload to readback',
      labelNames: ['model'],
      buckets: SECONDS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'webgpu_resnet_batch_size',
      help: 'Images per GPU batch',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    new Gauge({
      name: 'webgpu_resnet_queue_depth',
      help: 'Images waiting in a model queue',
      labelNames: ['model'],
      registers,
      collect() {
        for (const m of models()) this.set({ model: m.name }, m.batcher.depth);
      },
    });
    new Gauge({
      name: 'webgpu_resnet_gpu_bytes',
      help: "GPU bytes a model holds: weights and its activation arena at the server's batch size",
      labelNames: ['model'],
      registers,
      collect() {
        for (const m of models())
          this.set({ model: m.name }, m.model.info.weightBytes + m.model.arenaBytes(m.maxBatch));
      },
    });
  }

  request(model: string, protocol: string, code: number | string, seconds: number): void {
    this.requests.inc({ model, protocol, code: String(code) });
    this.latency.observe({ model, protocol }, seconds);
  }

  batch(model: string, run: BatchRun): void {
    this.batchSize.observe({ model }, run.images);
    this.compute.observe({ model }, run.computeMs / 1000);
    for (const w of run.waits) this.queueWait.observe({ model }, w / 1000);
  }
}

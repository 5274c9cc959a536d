/**
 * One model behind the server: its Open Inference Protocol metadata, its inputs turned into preprocessed
 * images (FP32 `input`, NCHW or NHWC, as given; UINT8 `pixels` [N, H, W, C] and BYTES `image` [N] encoded images,
 * preprocessed on the CPU as `classify` does), its batcher, and its outputs (`probabilities`, `logits`,
 * `embedding`; an output's `classification: k` parameter gives its top k as "value:index:label" strings, as
 * Triton's classification extension does).
 */
import { GPUUnavailableError, InputError } from '../errors.js';
import type { ResNetModel } from '../api/model.js';
import type { NodeImage } from '../node.js';
import { preprocessImage } from '../preprocess/preprocess.js';
import { Batcher, type BatchRun, type OutputKind } from './batcher.js';
import { badRequest } from './errors.js';
import type { Withdrawals } from './withdrawals.js';
import type { InferRequest, RequestTensor, ResponseTensor } from './tensors.js';
import { concatArrays } from '../util/vectors.js';

export const MODEL_VERSION = '1';

/** Output name -> what the model computes for it. */
const OUTPUTS: Record<string, OutputKind> = { probabilities: 'probabilities', logits: 'logits', embedding: 'features' };

const DEFAULT_OUTPUTS = [{ name: 'probabilities', parameters: {} }];

export interface BatchingOptions {
  maxBatch: number;
  maxQueueDelayMs: number;
  maxQueue: number;
}

export class ServedModel {
  readonly batcher: Batcher;
  readonly maxBatch: number;

  constructor(
    readonly name: string,
    readonly model: ResNetModel<NodeImage>,
    batching: BatchingOptions,
    onBatch: (model: string, run: BatchRun) => void,
  ) {
    this.maxBatch = Math.max(1, Math.min(batching.maxBatch, model.maxBatch(batching.maxBatch)));
    this.batcher = new Batcher({
      ...batching,
      maxBatch: this.maxBatch,
      run: (input, images, kind) => this.run(input, images, kind),
      onBatch: (run) => onBatch(name, run),
    });
  }

  /** A batch on the GPU; a lost device (the model recovers on a new one) is retried once. */
  private async run(input: Float32Array, batch: number, output: OutputKind): Promise<Float32Array> {
    try {
      return await this.model.infer(input, { batch, output });
    } catch (err) {
      if (!(err instanceof GPUUnavailableError)) throw err;
      return await this.model.infer(input, { batch, output });
    }
  }

  private get size(): [number, number] {
    const [h, w] = this.model.info.inputShape;
    return [h, w];
  }

  metadata(): Record<string, unknown> {
    const [h, w] = this.size;
    const { classes, features, architecture } = this.model.info;
    return {
      name: this.name,
      versions: [MODEL_VERSION],
      platform: 'webgpu-resnet',
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [-1, 3, h, w] },
        { name: 'pixels', datatype: 'UINT8', shape: [-1, -1, -1, 3] },
        { name: 'image', datatype: 'BYTES', shape: [-1] },
      ],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, classes] },
        { name: 'logits', datatype: 'FP32', shape: [-1, classes] },
        { name: 'embedding', datatype: 'FP32', shape: [-1, features] },
      ],
      properties: {
        architecture,
        input: 'one of: input (FP32, preprocessed, NCHW or NHWC), pixels (UINT8 RGB/RGBA), image (BYTES, encoded)',
        classification: 'an output parameter {"classification": k} returns its top k as "value:index:label"',
      },
    };
  }

  /**
   * The request's one input as preprocessed NHWC images, and how many; checked against the queue's room for them
   * (one job per output kind) before any image is decoded.
   */
  async images(request: InferRequest): Promise<{ input: Float32Array; count: number }> {
    if (request.inputs.length !== 1)
      throw badRequest(`${this.name} takes one input tensor (input, pixels or image), got ${request.inputs.length}`);
    const tensor = request.inputs[0]!;
    const declared = { input: 'FP32', pixels: 'UINT8', image: 'BYTES' }[tensor.name];
    if (!declared) throw badRequest(`${this.name} has no input ${tensor.name} (input, pixels, image)`);
    if (declared !== tensor.datatype)
      throw badRequest(`input ${tensor.name} must be ${declared}, got ${tensor.datatype}`);
    this.batcher.room((tensor.shape[0] ?? 0) * this.kindsOf(request).length);
    try {
      if (tensor.name === 'input') return this.floatImages(tensor);
      if (tensor.name === 'pixels') return this.pixelImages(tensor);
      return await this.encodedImages(tensor);
    } catch (err) {
      if (err instanceof InputError) throw badRequest(`input ${tensor.name}: ${err.message}`);
      throw err;
    }
  }

  private floatImages(t: RequestTensor): { input: Float32Array; count: number } {
    const [h, w] = this.size;
    const [n, a, b, c] = t.shape;
    const layout = t.parameters.layout ?? (a === 3 && b === h && c === w ? 'nchw' : 'nhwc');
    const nchw = layout === 'nchw' && t.shape.length === 4 && a === 3 && b === h && c === w;
    const nhwc = layout === 'nhwc' && t.shape.length === 4 && a === h && b === w && c === 3;
    if (!nchw && !nhwc)
      throw badRequest(`input input: shape [${t.shape}] is neither [N, 3, ${h}, ${w}] (NCHW) nor [N, ${h}, ${w}, 3]`);
    const values = t.values as Float32Array;
    if (nhwc) return { input: values, count: n! };
    const out = new Float32Array(values.length);
    const hw = h * w;
    for (let i = 0; i < n!; i++)
      for (let ch = 0; ch < 3; ch++)
        for (let p = 0; p < hw; p++) out[(i * hw + p) * 3 + ch] = values[(i * 3 + ch) * hw + p]!;
    return { input: out, count: n! };
  }

  private pixelImages(t: RequestTensor): { input: Float32Array; count: number } {
    const [n, height, width, channels] = t.shape;
    if (t.shape.length !== 4 || ![1, 3, 4].includes(channels!) || !height || !width)
      throw badRequest(`input pixels: shape [${t.shape}] must be [N, height, width, 1|3|4]`);
    const spec = this.model.preprocessing;
    const per = spec.cropTo * spec.cropTo * 3;
    const out = new Float32Array(n! * per);
    const values = t.values as Uint8Array;
    const bytes = height * width * channels!;
    for (let i = 0; i < n!; i++) {
      const image = { data: values.subarray(i * bytes, (i + 1) * bytes), width, height, channels: channels as 3 };
      preprocessImage(image, spec, out, i * per);
    }
    return { input: out, count: n! };
  }

  private async encodedImages(t: RequestTensor): Promise<{ input: Float32Array; count: number }> {
    const encoded = t.values as Uint8Array[];
    if (t.shape.length !== 1) throw badRequest(`input image: shape [${t.shape}] must be [N]`);
    const each = await Promise.all(encoded.map((bytes) => this.model.preprocess(bytes)));
    return { input: concatArrays(each), count: encoded.length };
  }

  /** The outputs the request asks for (default: probabilities), each computed by a batch of its kind. */
  async outputs(request: InferRequest, images: { input: Float32Array; count: number }, withdrawals: Withdrawals) {
    const asked = request.outputs ?? DEFAULT_OUTPUTS;
    const kinds = this.kindsOf(request);
    const results = new Map<OutputKind, Float32Array>();
    await Promise.all(
      kinds.map(async (kind) => {
        const job = this.batcher.submit(images.input, images.count, kind);
        withdrawals.add(job.cancel);
        results.set(kind, await job.result);
      }),
    );
    return asked.map((o) => this.tensorOf(o.name, o.parameters, results.get(OUTPUTS[o.name]!)!, images.count));
  }

  /** What the request's outputs need computed (an unknown output is a 400). */
  private kindsOf(request: InferRequest): OutputKind[] {
    const asked = request.outputs ?? DEFAULT_OUTPUTS;
    for (const o of asked)
      if (!OUTPUTS[o.name])
        throw badRequest(`${this.name} has no output ${o.name} (${Object.keys(OUTPUTS).join(', ')})`);
    return [...new Set(asked.map((o) => OUTPUTS[o.name]!))];
  }

  private tensorOf(name: string, parameters: Record<string, unknown>, rows: Float32Array, n: number): ResponseTensor {
    const width = rows.length / n;
    const k = parameters.classification;
    if (k === undefined) return { name, datatype: 'FP32', shape: [n, width], values: rows };
    if (!(Number.isInteger(k) && (k as number) >= 1) || name === 'embedding')
      throw badRequest(`output ${name}: classification must be a positive integer k, on probabilities or logits`);
    const labels = this.model.labels;
    const values: string[] = [];
    const top = Math.min(k as number, width);
    for (let i = 0; i < n; i++) {
      const row = rows.subarray(i * width, (i + 1) * width);
      const order = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, top);
      for (const c of order) values.push(`${row[c]}:${c}:${labels[c] ?? `class ${c}`}`);
    }
    return { name, datatype: 'BYTES', shape: [n, top], values };
  }
}

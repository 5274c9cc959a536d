/**
 * The Open Inference Protocol server (src/serve/) on loopback: every REST response validated against the
 * protocol's own open_inference_rest.yaml by a library validator; the served answers against `classify`'s for
 * shared photos through each input form (FP32 NCHW and NHWC, UINT8 pixels, BYTES images in JSON and in Triton's
 * binary extension, the image endpoint); dynamic batching (concurrent requests in one GPU batch, each its own
 * rows, the same as alone); bad input, limits, a full queue, timeouts, a lost device and a drain, each with the
 * server still answering (or exiting) as it should. A ResNet-18 with the golden generator's weights at 96x96.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenModel } from '../scripts/golden-model.js';
import type { ResNetModel } from '../src/api/model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import { createServer, type ServeOptions } from '../src/serve.js';
import { sharedPath } from './helpers/needs.js';
import { OPERATIONS, oipValidator, postJson, request } from './helpers/oip.js';

const PHOTOS = ['250_n02110185_Siberian_husky.JPEG', '130_n02007558_flamingo.JPEG', '290_n02128925_jaguar.JPEG'];
let model: ResNetModel<NodeImage>;
let validate: Awaited<ReturnType<typeof oipValidator>>;
const photos: Uint8Array[] = [];

/** A server over `model` on a free loopback port; its access-log lines collected. */
async function serving(options: Partial<ServeOptions> = {}) {
  const lines: string[] = [];
  const server = createServer({ models: { r18: model }, log: (l) => lines.push(l), ...options });
  const port = await server.listen(0);
  return { server, lines, base: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  const weights = writeSafetensors(goldenModel(18).params);
  model = await loadResNet({ source: { safetensors: weights }, inputSize: 96, recover: true });
  validate = await oipValidator();
  for (const p of PHOTOS) photos.push(new Uint8Array(await readFile(sharedPath('data', 'imagenet-sample', p))));
});
afterAll(() => model?.dispose());

const nchw = (x: Float32Array, size: number) => {
  const hw = size * size;
  return Float32Array.from({ length: x.length }, (_, i) => x[(i % hw) * 3 + Math.floor(i / hw)]!);
};
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
};

describe('webgpu-resnet serve: the Open Inference Protocol over REST', () => {
  let s: Awaited<ReturnType<typeof serving>>;
  beforeAll(async () => {
    s = await serving({ maxBatch: 4, maxQueueDelayMs: 30 });
  });
  afterAll(async () => s && (await s.server.drain()));

  it('health, server and model metadata and readiness, valid against open_inference_rest.yaml', async () => {
    const checks: Array<[string, string, number]> = [
      ['/v2/health/live', OPERATIONS.live, 200],
      ['/v2/health/ready', OPERATIONS.ready, 200],
      ['/v2', OPERATIONS.serverMetadata, 200],
      ['/v2/models/r18', OPERATIONS.modelMetadata, 200],
      ['/v2/models/r18/versions/1', OPERATIONS.modelMetadata, 200],
      ['/v2/models/r18/ready', OPERATIONS.modelReady, 200],
    ];
    for (const [path, op, status] of checks) {
      const r = await request(s.base + path);
      expect(r.status, path).toBe(status);
      expect(validate(op, r.status, r.json()), path).toBeUndefined();
    }
    const meta = (await request(`${s.base}/v2/models/r18`)).json() as { inputs: unknown[]; outputs: unknown[] };
    expect(meta.inputs).toContainEqual({ name: 'input', datatype: 'FP32', shape: [-1, 3, 96, 96] });
    expect(meta.outputs).toContainEqual({ name: 'probabilities', datatype: 'FP32', shape: [-1, 1000] });
    expect((await request(`${s.base}/v2`)).json()).toMatchObject({
      extensions: ['binary_tensor_data', 'classification'],
    });
    // (a response object that lacks a required field is caught: the validator is not a no-op)
    expect(validate(OPERATIONS.serverMetadata, 200, { name: 'x' })).toBeDefined();
  });

  it("serves classify's answer for shared photos through each input form", async () => {
    for (const [n, bytes] of photos.entries()) {
      const want = await model.classify(bytes, { topK: 1000 });
      const probs = new Float32Array(1000);
      for (const p of want) probs[p.index] = p.probability;
      const x = await model.preprocess(bytes);
      const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const forms: Array<
        [string, () => Promise<{ status: number; json: () => unknown; bytes: Uint8Array; headers: Headers }>]
      > = [
        [
          'FP32 NCHW',
          () =>
            postJson(`${s.base}/v2/models/r18/infer`, {
              inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 96, 96], data: Array.from(nchw(x, 96)) }],
            }),
        ],
        [
          'FP32 NHWC',
          () =>
            postJson(`${s.base}/v2/models/r18/versions/1/infer`, {
              inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 96, 96, 3], data: Array.from(x) }],
            }),
        ],
        [
          'UINT8 pixels',
          () =>
            postJson(`${s.base}/v2/models/r18/infer`, {
              inputs: [
                { name: 'pixels', datatype: 'UINT8', shape: [1, info.height, info.width, 3], data: Array.from(data) },
              ],
            }),
        ],
        [
          'BYTES (base64 JSON)',
          () =>
            postJson(`${s.base}/v2/models/r18/infer`, {
              inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [Buffer.from(bytes).toString('base64')] }],
            }),
        ],
        ['BYTES (binary extension)', () => binaryInfer(s.base, bytes)],
      ];
      for (const [form, send] of forms) {
        const r = await send();
        expect(r.status, form).toBe(200);
        let got: Float32Array;
        if (r.headers.get('inference-header-content-length')) {
          const head = Number(r.headers.get('inference-header-content-length'));
          const json = JSON.parse(new TextDecoder().decode(r.bytes.subarray(0, head)));
          got = new Float32Array(r.bytes.slice(head).buffer);
          // Triton's binary extension moves an output's data after the JSON (binary_data_size says how much), which
          // the protocol's schema (data required) does not know: validated with the data put back
          expect(json.outputs[0].parameters).toEqual({ binary_data_size: 4000 });
          const restored = { ...json, outputs: [{ ...json.outputs[0], data: Array.from(got) }] };
          expect(validate(OPERATIONS.infer, 200, restored), form).toBeUndefined();
        } else {
          const json = r.json() as { outputs: Array<{ data: number[] }> };
          expect(validate(OPERATIONS.infer, 200, json), form).toBeUndefined();
          got = Float32Array.from(json.outputs[0]!.data);
        }
        expect(got.indexOf(Math.max(...got)), `${PHOTOS[n]} ${form}`).toBe(want[0]!.index);
        expect(maxRel(got, probs), `${PHOTOS[n]} ${form}`).toBeLessThanOrEqual(1e-6);
      }
      const image = await request(`${s.base}/v2/models/r18/classify?top_k=3`, {
        method: 'POST',
        body: Buffer.from(bytes),
      });
      expect(image.status).toBe(200);
      expect((image.json() as { predictions: unknown[] }).predictions).toEqual(want.slice(0, 3));
    }
  });

  it('merges concurrent requests into GPU batches, each caller getting its own rows, as when alone', async () => {
    const inputs = await Promise.all(photos.map((b) => model.preprocess(b)));
    const body = (x: Float32Array) => ({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 96, 96, 3], data: Array.from(x) }],
      outputs: [{ name: 'logits' }, { name: 'probabilities', parameters: { classification: 2 } }],
    });
    const alone: unknown[] = [];
    for (const x of inputs) alone.push((await postJson(`${s.base}/v2/models/r18/infer`, body(x))).json());
    const before = await batchSizes(s.base);
    const together = await Promise.all(
      [0, 1, 2, 0, 1, 2].map((i) => postJson(`${s.base}/v2/models/r18/infer`, body(inputs[i]!)).then((r) => r.json())),
    );
    const after = await batchSizes(s.base);
    console.log(`batch sizes before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    expect(after.sum - before.sum).toBe(12); // 6 requests x (logits, probabilities)
    expect(after.count - before.count).toBeLessThan(12); // fewer batches than requests
    together.forEach((got, k) => {
      const want = alone[k % 3] as { outputs: Array<{ data: unknown[] }> };
      const outputs = (got as { outputs: Array<{ name: string; data: unknown[]; datatype: string }> }).outputs;
      expect(outputs.map((o) => [o.name, o.datatype])).toEqual([
        ['logits', 'FP32'],
        ['probabilities', 'BYTES'],
      ]);
      expect(maxRel(outputs[0]!.data as number[], want.outputs[0]!.data as number[])).toBeLessThanOrEqual(1e-6);
      expect((outputs[1]!.data as string[]).map((v) => v.split(':')[1])).toEqual(
        (want.outputs[1]!.data as string[]).map((v) => v.split(':')[1]),
      );
    });
  });

  it('answers bad requests with 400 / 404 naming the problem (valid error objects), and keeps serving', async () => {
    const url = `${s.base}/v2/models/r18/infer`;
    const cases: Array<[string, Promise<{ status: number; json: () => unknown }>, number, RegExp]> = [
      ['garbage', request(url, { method: 'POST', body: 'not json {' }), 400, /not JSON/],
      ['no inputs', postJson(url, { outputs: [] }), 400, /"inputs"/],
      [
        'wrong shape',
        postJson(url, {
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 64, 64], data: new Array(3 * 64 * 64).fill(0) }],
        }),
        400,
        /neither \[N, 3, 96, 96\]/,
      ],
      [
        'wrong count',
        postJson(url, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 96, 96], data: [1, 2] }] }),
        400,
        /2 values for shape/,
      ],
      [
        'wrong datatype',
        postJson(url, { inputs: [{ name: 'input', datatype: 'INT64', shape: [1], data: [1] }] }),
        400,
        /datatype "INT64" is not accepted/,
      ],
      [
        'not an image',
        postJson(url, { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: ['aGVsbG8='] }] }),
        400,
        /input image/,
      ],
      [
        'unknown output',
        postJson(url, {
          inputs: [
            { name: 'image', datatype: 'BYTES', shape: [1], data: [Buffer.from(photos[0]!).toString('base64')] },
          ],
          outputs: [{ name: 'scores' }],
        }),
        400,
        /no output scores/,
      ],
      ['unknown model', postJson(`${s.base}/v2/models/nope/infer`, { inputs: [] }), 404, /no model nope/],
      ['unknown version', request(`${s.base}/v2/models/r18/versions/7`), 404, /no version 7/],
    ];
    for (const [what, reply, status, message] of cases) {
      const r = await reply;
      expect(r.status, what).toBe(status);
      expect((r.json() as { error: string }).error, what).toMatch(message);
      if (status === 400 && what !== 'unknown version')
        expect(validate(OPERATIONS.infer, 400, r.json()), what).toBeUndefined();
    }
    expect((await request(`${s.base}/v2/health/live`)).status).toBe(200);
    const ok = await request(`${s.base}/v2/models/r18/classify`, { method: 'POST', body: Buffer.from(photos[1]!) });
    expect(ok.status).toBe(200);
  });

  it('exports Prometheus metrics and writes one JSON access-log line per request', async () => {
    const text = new TextDecoder().decode((await request(`${s.base}/metrics`)).bytes);
    for (const name of [
      'webgpu_resnet_requests_total{model="r18",protocol="rest",code="200"}',
      'webgpu_resnet_batch_size_bucket',
      'webgpu_resnet_queue_wait_seconds_bucket',
      'webgpu_resnet_compute_seconds_count',
      'webgpu_resnet_queue_depth{model="r18"} 0',
      'webgpu_resnet_gpu_bytes{model="r18"}',
      'process_resident_memory_bytes',
    ])
      expect(text).toContain(name);
    const line = JSON.parse(s.lines.find((l) => l.includes('"status":400'))!);
    expect(line).toMatchObject({ method: 'POST', status: 400, model: 'r18' });
    expect(line.error).toBeTypeOf('string');
  });
});

async function binaryInfer(base: string, image: Uint8Array) {
  const header = new TextEncoder().encode(
    JSON.stringify({
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: image.length + 4 } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
    }),
  );
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, image.length, true);
  return request(`${base}/v2/models/r18/infer`, {
    method: 'POST',
    body: Buffer.concat([header, length, image]),
    headers: { 'Inference-Header-Content-Length': String(header.length), 'Content-Type': 'application/octet-stream' },
  });
}

/** The batch-size histogram's count (batches) and sum (images) from /metrics. */
async function batchSizes(base: string): Promise<{ count: number; sum: number }> {
  const text = new TextDecoder().decode((await request(`${base}/metrics`)).bytes);
  const value = (name: string) => Number(new RegExp(`^${name}\\{model="r18"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: value('webgpu_resnet_batch_size_count'), sum: value('webgpu_resnet_batch_size_sum') };
}

/**
 * The server's gRPC side through a client built from the protocol's own .proto
 * (../shared/open-inference-protocol/open_inference_grpc.proto, with @grpc/grpc-js and @grpc/proto-loader):
 * health, metadata, ModelInfer with raw_input_contents (an encoded image, as Triton's clients send BYTES) and
 * with typed fp32_contents, against `classify`; errors as gRPC status codes; the server answering on after them.
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenModel } from '../scripts/golden-model.js';
import type { ResNetModel } from '../src/api/model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import { createServer, type InferenceServer } from '../src/serve.js';
import { sharedPath } from './helpers/needs.js';

type Message = Record<string, unknown>;
type Client = Record<string, (m: Message, cb: (err: grpc.ServiceError | null, r: Message) => void) => void> &
  grpc.Client;

let model: ResNetModel<NodeImage>;
let server: InferenceServer;
let client: Client;
let photo: Uint8Array;

const call = (method: string, message: Message) =>
  new Promise<Message>((resolve, reject) => client[method]!(message, (err, r) => (err ? reject(err) : resolve(r))));
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (err: grpc.ServiceError) => `${grpc.status[err.code]}: ${err.details}`,
  );

beforeAll(async () => {
  model = await loadResNet({ source: { safetensors: writeSafetensors(goldenModel(18).params) }, inputSize: 96 });
  photo = new Uint8Array(await readFile(sharedPath('data', 'imagenet-sample', '250_n02110185_Siberian_husky.JPEG')));
  server = createServer({ models: { r18: model }, log: () => {} });
  await server.listen(0);
  const port = await server.listenGrpc(0);
  const definition = loadSync(sharedPath('open-inference-protocol', 'open_inference_grpc.proto'), {
    keepCase: true,
    longs: Number,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: new (address: string, credentials: grpc.ChannelCredentials) => Client };
  };
  client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.drain();
  model?.dispose();
});

describe('the Open Inference Protocol over gRPC', () => {
  it('health and metadata', async () => {
    expect(await call('ServerLive', {})).toEqual({ live: true });
    expect(await call('ServerReady', {})).toEqual({ ready: true });
    expect(await call('ModelReady', { name: 'r18', version: '' })).toEqual({ ready: true });
    expect(await call('ServerMetadata', {})).toMatchObject({
      name: 'webgpu-resnet',
      extensions: ['binary_tensor_data', 'classification'],
    });
    const meta = await call('ModelMetadata', { name: 'r18', version: '1' });
    expect(meta).toMatchObject({ name: 'r18', versions: ['1'], platform: 'webgpu-resnet' });
    expect(meta.inputs).toContainEqual({ name: 'input', datatype: 'FP32', shape: [-1, 3, 96, 96] });
  });

  it("ModelInfer with raw_input_contents and with fp32_contents gives classify's probabilities", async () => {
    const want = await model.classify(photo, { topK: 1000 });
    const probs = new Float32Array(1000);
    for (const p of want) probs[p.index] = p.probability;
    const length = Buffer.alloc(4);
    length.writeUInt32LE(photo.length);
    const raw = await call('ModelInfer', {
      model_name: 'r18',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
      outputs: [{ name: 'probabilities' }, { name: 'logits', parameters: { classification: { int64_param: 3 } } }],
      raw_input_contents: [Buffer.concat([length, photo])],
    });
    const x = await model.preprocess(photo);
    const typed = await call('ModelInfer', {
      model_name: 'r18',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 96, 96, 3], contents: { fp32_contents: Array.from(x) } }],
    });
    for (const r of [raw, typed]) {
      const outputs = r.outputs as Message[];
      expect(outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [1, 1000] });
      const bytes = (r.raw_output_contents as Buffer[])[0]!;
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      let d = 0;
      for (let i = 0; i < 1000; i++) d = Math.max(d, Math.abs(got[i]! - probs[i]!));
      expect(d / Math.max(...probs)).toBeLessThanOrEqual(1e-6);
    }
    expect((raw.outputs as Message[])[1]).toMatchObject({ name: 'logits', datatype: 'BYTES', shape: [1, 3] });
    const classes = (raw.raw_output_contents as Buffer[])[1]!;
    expect(classes.subarray(4, 4 + classes.readUInt32LE(0)).toString()).toMatch(new RegExp(`:${want[0]!.index}:`));
  });

  it('errors as status codes, and the server answers on', async () => {
    expect(await code(call('ModelMetadata', { name: 'nope' }))).toMatch(/^NOT_FOUND: no model nope/);
    const bad = {
      model_name: 'r18',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 5, 5], contents: { fp32_contents: [1] } }],
    };
    expect(await code(call('ModelInfer', bad))).toMatch(/^INVALID_ARGUMENT: input input: 1 values for shape/);
    const image = {
      model_name: 'r18',
      inputs: [
        { name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('no image')] } },
      ],
    };
    expect(await code(call('ModelInfer', image))).toMatch(/^INVALID_ARGUMENT: input image/);
    expect(await call('ServerLive', {})).toEqual({ live: true });
  });
});

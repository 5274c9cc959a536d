/**
 * Bad inputs through the public API, one test each: a typed error whose message names the problem (file,
 * tensor, expected vs found), no crash, no hang, and afterwards the same loaded model still classifies a
 * photo exactly as before. Cases the engine accepts (alpha, 16-bit, 1x1) must give a valid answer.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, ModelFormatError, ResNetError, TORCH_PREPROCESSING, type ResNetModel } from '../src/index.js';
import { graphToOnnx } from '../src/export/onnx.js';
import type { InMemoryModel } from '../src/loaders/formats.js';
import { defaultModelPath, loadResNet, type NodeImage } from '../src/node.js';
import { goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { appendNode } from './helpers/onnx.js';
import { sharedPath } from './helpers/needs.js';

const sampleDir = sharedPath('data', 'imagenet-sample');
const husky = join(sampleDir, '250_n02110185_Siberian_husky.JPEG');
let model: ResNetModel<NodeImage>;
let huskyInput: Float32Array;
let huskyProbs: Float32Array;
let keras: InMemoryModel & {
  modelJson: {
    modelTopology: { model_config: { config: { layers: Array<{ class_name: string; name: string }> } } };
    weightsManifest: Array<{ paths: string[] }>;
  };
};
let work: string;
const r18 = goldenModel(18);

beforeAll(async () => {
  model = await loadResNet();
  huskyInput = await model.preprocess(husky);
  huskyProbs = await model.infer(huskyInput);
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-bad-'));
  const path = defaultModelPath();
  const modelJson = JSON.parse(await readFile(path, 'utf8'));
  const weights: Record<string, Uint8Array> = {};
  for (const p of modelJson.weightsManifest.flatMap((g: { paths: string[] }) => g.paths))
    weights[p] = new Uint8Array(await readFile(join(dirname(path), p)));
  keras = { modelJson, weights } as typeof keras;
});
afterAll(async () => {
  // each test stands alone (refused() checks the exact class and that the model still works); this is the record
  console.log(
    `${seen.length} refusals, each followed by an unchanged classification; by class: ${[...classes].map(([name, n]) => `${name} ${n}`).join(', ')}\n${seen.join('\n')}`,
  );
  model?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The model still gives the husky photo the very same probabilities. */
async function stillWorks(): Promise<void> {
  const probs = await model.infer(huskyInput);
  let diff = 0;
  for (let i = 0; i < probs.length; i++) diff = Math.max(diff, Math.abs(probs[i]! - huskyProbs[i]!));
  expect(diff).toBeLessThan(1e-6);
}

/**
 * `action` must reject with an error of exactly the class `type` (not merely a subclass or a parent) whose
 * message matches `message`; then the model must still work.
 */
async function refused(
  action: () => Promise<unknown>,
  type: new (...a: never[]) => Error,
  message: RegExp | string,
): Promise<void> {
  const err = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'no error was thrown').toBeInstanceOf(type);
  expect((err as Error).constructor, `${(err as Error).name}: ${(err as Error).message}`).toBe(type);
  expect(err).toBeInstanceOf(ResNetError);
  if (typeof message === 'string') expect((err as Error).message).toContain(message);
  else expect((err as Error).message).toMatch(message);
  seen.push(`${(err as Error).name}: ${(err as Error).message.replaceAll(work, '<tmp>')}`);
  classes.set((err as Error).name, (classes.get((err as Error).name) ?? 0) + 1);
  await stillWorks();
}
const seen: string[] = [];
const classes = new Map<string, number>();

const file = async (name: string, bytes: Uint8Array | string) => {
  const p = join(work, name);
  await writeFile(p, bytes);
  return p;
};

/** A copy of the Keras model with model.json (as an object) and shards changed by `edit`. */
function kerasWith(
  edit: (m: { modelJson: typeof keras.modelJson; weights: Record<string, Uint8Array | string> }) => void,
): InMemoryModel {
  const copy = {
    modelJson: structuredClone(keras.modelJson),
    weights: { ...keras.weights } as Record<string, Uint8Array | string>,
  };
  edit(copy);
  return copy as InMemoryModel;
}

/** A safetensors file of ResNet-18 whose header `edit` changes (data section kept). */
function safetensorsWith(
  edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void,
): Uint8Array {
  const good = writeSafetensors(r18.params);
  const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
  edit(header);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + good.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(good.subarray(8 + n), 8 + text.length);
  return out;
}

/** A PNG whose IHDR claims `width` x `height` (CRC fixed), made from a real 1x1 PNG. */
async function pngClaiming(width: number, height: number): Promise<Uint8Array> {
  const sharp = (await import('sharp')).default;
  const png = new Uint8Array(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width); // IHDR data starts at 16: width, height
  view.setUint32(20, height);
  view.setUint32(29, crc32(png.subarray(12, 29))); // CRC over "IHDR" + 13 data bytes
  return png;
}

describe('images', () => {
  it('a 0-byte file', async () => {
    const p = await file('empty.jpg', new Uint8Array(0));
    await refused(() => model.classify(p), InputError, /empty\.jpg: empty, not an image/);
    await refused(() => model.classify(new Uint8Array(0)), InputError, /empty, not an image/);
  });
  it('a file that is not an image', async () => {
    await refused(
      async () => model.classify(await file('notes.jpg', 'just some text, not pixels')),
      InputError,
      /notes\.jpg: cannot decode image/,
    );
  });
  it('a truncated JPEG', async () => {
    const bytes = await readFile(husky);
    await refused(
      async () => model.classify(await file('truncated.jpg', bytes.subarray(0, bytes.length >> 1))),
      InputError,
      /truncated\.jpg: cannot decode image/,
    );
  });
  it('a corrupt JPEG (garbage over the scan data)', async () => {
    const bytes = new Uint8Array(await readFile(husky));
    bytes.fill(0xff, 2000, 6000); // runs of 0xFF are not valid entropy-coded data
    await refused(
      async () => model.classify(await file('corrupt.jpg', bytes)),
      InputError,
      /corrupt\.jpg: cannot decode image/,
    );
  });
  it('an image over the pixel limit (a PNG claiming 20000 x 20000) is refused before decoding', async () => {
    await refused(
      async () => model.classify(await file('huge.png', await pngClaiming(20000, 20000))),
      InputError,
      /huge\.png: cannot decode image: .*pixel limit/i,
    );
  });
  it('a PNG with alpha, a 16-bit PNG and a 1x1 image are accepted (alpha dropped, 16 bits reduced, upscaled)', async () => {
    const sharp = (await import('sharp')).default;
    const rgb = await sharp(husky).resize(256).png().toBuffer();
    const alpha = await sharp(husky).resize(256).ensureAlpha(0.5).png().toBuffer();
    const deep = await sharp(husky).resize(256).toColourspace('rgb16').png().toBuffer();
    const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#3060a0' } })
      .png()
      .toBuffer();
    const want = (await model.classify(new Uint8Array(rgb), { topK: 1 }))[0]!.index;
    expect((await model.classify(new Uint8Array(alpha), { topK: 1 }))[0]!.index).toBe(want);
    expect((await model.classify(new Uint8Array(deep), { topK: 1 }))[0]!.index).toBe(want);
    const one = await model.classify(new Uint8Array(tiny), { topK: 1000 });
    expect(one.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 3);
    await stillWorks();
  });
});

describe('raw inputs', () => {
  it('NaN', async () => {
    const x = huskyInput.slice();
    x[1234] = NaN;
    await refused(() => model.infer(x), InputError, 'input[1234] is NaN: every value must be finite');
  });
  it('Infinity', async () => {
    const x = huskyInput.slice();
    x[x.length - 1] = Infinity;
    await refused(() => model.infer(x), InputError, `input[${x.length - 1}] is Infinity`);
  });
  it('wrong length', async () => {
    await refused(
      () => model.infer(new Float32Array(1000)),
      InputError,
      'input holds 1000 values, expected 1x224x224x3 = 150528 (NHWC)',
    );
    await refused(
      () => model.infer(new Float32Array(150528), { batch: 2, layout: 'nchw' }),
      InputError,
      'expected 2x3x224x224 = 301056 (NCHW)',
    );
  });
  it('batch 0 and a fractional batch', async () => {
    await refused(
      () => model.infer(new Float32Array(0), { batch: 0 }),
      InputError,
      'batch must be a positive integer, got 0',
    );
    await refused(
      () => model.infer(huskyInput, { batch: 1.5 }),
      InputError,
      'batch must be a positive integer, got 1.5',
    );
  });
  it('not a Float32Array, an unknown layout or output, topK 0, unknown residual blocks', async () => {
    await refused(() => model.infer([1, 2, 3] as unknown as Float32Array), InputError, 'input must be a Float32Array');
    await refused(
      () => model.infer(huskyInput, { layout: 'nwhc' as 'nhwc' }),
      InputError,
      `layout must be 'nhwc' or 'nchw', got "nwhc"`,
    );
    await refused(
      () => model.infer(huskyInput, { output: 'embedding' as 'logits' }),
      InputError,
      `output must be 'probabilities', 'logits' or 'features', got "embedding"`,
    );
    await refused(
      () => model.classify(husky, { skipBlocks: ['layer5.0'] }),
      InputError,
      'unknown residual block "layer5.0": this resnet50 has layer1.0..layer1.2, layer2.0..layer2.3, layer3.0..layer3.5, layer4.0..layer4.2',
    );
    await refused(
      () => model.embed(husky, { skipBlocks: 'layer1.0' as unknown as string[] }),
      InputError,
      'skipBlocks must be an array of block names such as "layer3.2"',
    );
    await refused(() => model.classify(husky, { topK: 0 }), InputError, 'topK must be a positive integer, got 0');
  });
});

describe('TF.js layers files', () => {
  it('model.json that is not JSON', async () => {
    await refused(
      () => loadResNet({ source: { modelJson: '{"modelTopology": ', weights: keras.weights } }),
      ModelFormatError,
      /model\.json: not valid JSON/,
    );
  });
  it('model.json without layers', async () => {
    await refused(
      () =>
        loadResNet({
          source: kerasWith((m) => {
            m.modelJson.modelTopology.model_config.config.layers = undefined as never;
          }),
        }),
      ModelFormatError,
      /layers/,
    );
  });
  it('an unknown layer class', async () => {
    const source = kerasWith((m) => {
      m.modelJson.modelTopology.model_config.config.layers[5]!.class_name = 'LayerNormalization';
    });
    const name = keras.modelJson.modelTopology.model_config.config.layers[5]!.name;
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      `layer ${name} (LayerNormalization): layer class LayerNormalization is not supported`,
    );
  });
  it('a missing shard', async () => {
    await refused(
      () =>
        loadResNet({
          source: kerasWith((m) => {
            delete m.weights['group1-shard7of25.bin'];
          }),
        }),
      ModelFormatError,
      /group1-shard7of25\.bin: (file not found|missing)/,
    );
  });
  it('a shard shorter than its manifest', async () => {
    const source = kerasWith((m) => {
      m.weights['group1-shard25of25.bin'] = (m.weights['group1-shard25of25.bin'] as Uint8Array).subarray(0, 1000);
    });
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      /memory:group1-shard25of25\.bin is 1000 bytes, expected 1883552 \(truncated; weight group 1 is \d+ bytes in 25 shards, its manifest describes \d+\)/,
    );
  });
  it('a shard longer than its manifest', async () => {
    const source = kerasWith((m) => {
      const s = m.weights['group1-shard25of25.bin'] as Uint8Array;
      const longer = new Uint8Array(s.length + 4096);
      longer.set(s);
      m.weights['group1-shard25of25.bin'] = longer;
    });
    await refused(
      () => loadResNet({ source }),
      ModelFormatError,
      /group1-shard25of25\.bin is 1887648 bytes, expected 1883552 \(too long;/,
    );
  });
  it('a shard path with .. (no path traversal)', async () => {
    const source = kerasWith((m) => {
      m.modelJson.weightsManifest[0]!.paths[0] = '../../etc/passwd';
    });
    await refused(() => loadResNet({ source }), ModelFormatError, 'refusing file path "../../etc/passwd"');
  });
});

describe('safetensors files', () => {
  it('a header length past the end of the file', async () => {
    const bytes = writeSafetensors(r18.params);
    new DataView(bytes.buffer).setUint32(0, bytes.length, true);
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /header length \d+ runs past the end of the file/,
    );
  });
  it('data offsets out of range', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.data_offsets = [h['fc.bias']!.data_offsets[0], 1e12];
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /tensor fc\.bias: data_offsets \[\d+, 1000000000000\] run past the data section/,
    );
  });
  it('overlapping tensors', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.data_offsets = [h['fc.weight']!.data_offsets[0], h['fc.weight']!.data_offsets[0] + 4000];
    });
    await refused(() => loadResNet({ source: { safetensors: bytes } }), ModelFormatError, /overlap/);
  });
  it('an unknown dtype', async () => {
    const bytes = safetensorsWith((h) => {
      h['conv1.weight']!.dtype = 'F12';
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      'conv1.weight: unknown dtype "F12"',
    );
  });
  it('a shape whose element count overflows', async () => {
    const bytes = safetensorsWith((h) => {
      h['fc.bias']!.shape = [2 ** 30, 2 ** 30, 2 ** 30];
    });
    await refused(
      () => loadResNet({ source: { safetensors: bytes } }),
      ModelFormatError,
      /fc\.bias: shape \[1073741824,1073741824,1073741824\] has more elements than can be addressed/,
    );
  });
});

describe('ONNX, depth, options, URLs', () => {
  it('an ONNX model with an unsupported operator', async () => {
    const onnx = appendNode(graphToOnnx(r18.graph, { softmax: false }), 'Tanh');
    await refused(
      () => loadResNet({ source: { onnx } }),
      ModelFormatError,
      'node extra (Tanh): operator Tanh is not supported',
    );
  });
  it('ResNet-50 weights loaded as ResNet-18', async () => {
    await refused(
      () => loadResNet({ depth: 18 }),
      ModelFormatError,
      'these weights are a ResNet-50 (50 weight layers deep), not the ResNet-18 asked for',
    );
  });
  it('an unknown precision', async () => {
    await refused(
      () => loadResNet({ precision: 'f8' as 'f16' }),
      InputError,
      `precision must be 'f32', 'f16' or 'int8', got "f8"`,
    );
  });
  it('a URL that returns 404, and one cut short (size checked)', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/short/')) {
        res.writeHead(200, { 'content-length': '100000' });
        res.end('{"modelTopology":');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await refused(
        () => loadResNet({ source: `${base}/missing/model.json` }),
        ModelFormatError,
        `${base}/missing/model.json: HTTP 404`,
      );
      await refused(
        () => loadResNet({ source: `${base}/short/model.json` }),
        ModelFormatError,
        `${base}/short/model.json`,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('options of a model', () => {
  it('preprocessing that crops more than it resizes: refused at load, not at every classify', async () => {
    await refused(
      () =>
        loadResNet({
          source: { safetensors: writeSafetensors(r18.params) },
          preprocessing: { ...TORCH_PREPROCESSING, resizeTo: 200 },
        }),
      InputError,
      'preprocessing resizes to 200 pixels, less than the 224 it crops: resizeTo must be at least cropTo',
    );
  });
  it('a source that is none of the forms, and recover with a device of yours', async () => {
    await refused(
      () => loadResNet({ source: { weights: {} } as never }),
      InputError,
      'source must be a URL, a path, { modelJson, weights }, { safetensors }, { onnx } or { folder: { path: bytes } }',
    );
    await refused(
      () => loadResNet({ source: { safetensors: writeSafetensors(r18.params) }, device: model.device, recover: true }),
      InputError,
      "recover: true needs the engine's own device",
    );
  });
  it('labels that do not match the classes', async () => {
    await refused(
      () => loadResNet({ source: { safetensors: writeSafetensors(r18.params) }, labels: ['cat', 'dog'] }),
      InputError,
      '2 labels given for a model with 1000 outputs',
    );
  });
});

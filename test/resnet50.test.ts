/**
 * The whole pretrained Keras ResNet-50 on the GPU adapter (lavapipe here) against TF.js CPU running the
 * same model.json, and on the 100 shared ImageNet sample images against the committed TF.js fixture.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/node/image.js';
import { defaultModelPath, packageRoot } from '../src/node/paths.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import type { ResNetModel } from '../src/index.js';
import { CAFFE_PREPROCESSING, preprocessImage } from '../src/preprocess/preprocess.js';
import {
  lesionedReferenceModel,
  loadReferenceModel,
  referenceFeatures,
  referenceLogits,
} from '../scripts/tfjs-reference.js';
import { randomArray, relativeError } from './helpers/reference.js';
import { sharedPath } from './helpers/needs.js';

const sampleDir = sharedPath('data', 'imagenet-sample');
const husky = join(sampleDir, '250_n02110185_Siberian_husky.JPEG');
const grayscale = join(sampleDir, '710_n03908714_pencil_sharpener.JPEG');
let model: ResNetModel<NodeImage>;
let work: string;
let referenceModel: Promise<Awaited<ReturnType<typeof loadReferenceModel>>> | undefined;
const reference = () => (referenceModel ??= loadReferenceModel(defaultModelPath()));

const topK = (v: Float32Array, k: number) => [...v.keys()].sort((a, b) => v[b]! - v[a]!).slice(0, k);

beforeAll(async () => {
  model = await loadResNet();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-test-'));
  console.log(
    `ResNet-50 on ${model.info.adapter}: ${model.info.dispatches} dispatches, ${model.info.pipelines} pipelines (${model.info.convStrategy} convs), weights ${(model.info.weightBytes / 2 ** 20).toFixed(1)} MiB, arena ${(model.info.arenaBytesBatch1 / 2 ** 20).toFixed(2)} MiB at batch 1`,
  );
});

afterAll(async () => {
  model?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ResNet-50 against TF.js CPU (same model.json)', () => {
  it('logits agree to 1e-4 of their scale with identical top-5, on a photo and a synthetic input in one batch of 2', async () => {
    const photo = preprocessImage(await decodeImage(husky), CAFFE_PREPROCESSING);
    const synthetic = randomArray(photo.length, 2024, 120); // uniform in the caffe input range
    const input = new Float32Array(2 * photo.length);
    input.set(photo, 0);
    input.set(synthetic, photo.length);
    const want = referenceLogits(await reference(), input, 2);
    const got = await model.infer(input, { batch: 2, output: 'logits' });
    for (let b = 0; b < 2; b++) {
      const g = got.subarray(b * 1000, (b + 1) * 1000),
        w = want.subarray(b * 1000, (b + 1) * 1000);
      let diff = 0,
        scale = 0;
      for (let i = 0; i < 1000; i++) {
        diff = Math.max(diff, Math.abs(g[i]! - w[i]!));
        scale = Math.max(scale, Math.abs(w[i]!));
      }
      console.log(
        `input ${b}: max |logit diff| / max |logit| = ${(diff / scale).toExponential(2)}; top-5 ${topK(g, 5)} vs TF.js ${topK(w, 5)}`,
      );
      expect(diff / scale).toBeLessThanOrEqual(1e-4);
      expect(topK(g, 5)).toEqual(topK(w, 5));
    }
    // the probabilities are the softmax of those logits
    const probs = await model.infer(input, { batch: 2 });
    expect(topK(probs.subarray(0, 1000), 5)).toEqual(topK(got.subarray(0, 1000), 5));
    expect(probs.subarray(0, 1000).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });
});

describe('residual-block lesions and embeddings against TF.js (same model.json)', () => {
  it('blocks carry the Keras layer names: layer3.2 is res4c, layer1.0 is res2a (a projection)', () => {
    expect(model.blocks).toHaveLength(16);
    expect(model.blocks.find((b) => b.name === 'layer3.2')!.layers).toEqual([
      'res4c_branch2a',
      'res4c_branch2b',
      'res4c_branch2c',
    ]);
    expect(model.blocks[0]).toMatchObject({
      name: 'layer1.0',
      projection: true,
      inputShape: [56, 56, 64],
      outputShape: [56, 56, 256],
    });
  });

  it('logits with blocks deleted match TF.js running the model rewired without them; features match its average pool', async () => {
    const photo = preprocessImage(await decodeImage(husky), CAFFE_PREPROCESSING);
    const tf = await reference();
    const kerasName = (block: string) =>
      model.blocks.find((b) => b.name === block)!.layers[0]!.replace(/^res(\w+)_branch2a$/, '$1');
    for (const skip of [['layer1.1'], ['layer3.0', 'layer4.2']]) {
      const lesioned = await lesionedReferenceModel(tf, defaultModelPath(), skip.map(kerasName));
      const want = referenceLogits(lesioned, photo, 1);
      const got = await model.infer(photo, { output: 'logits', skipBlocks: skip });
      const error = relativeError(got, want);
      console.log(
        `without ${skip.join(', ')} (Keras ${skip.map(kerasName).join(', ')}): max |logit diff| / max |logit| = ${error.toExponential(2)}; top-5 ${topK(got, 5)} vs TF.js ${topK(want, 5)}`,
      );
      expect(error).toBeLessThanOrEqual(1e-4);
      expect(topK(got, 5)).toEqual(topK(want, 5));
      expect(relativeError(got, await model.infer(photo, { output: 'logits' }))).toBeGreaterThan(1e-2);
    }
    const features = await model.infer(photo, { output: 'features' });
    const wantFeatures = referenceFeatures(tf, photo, 1);
    console.log(`features (2048): max diff / max = ${relativeError(features, wantFeatures).toExponential(2)}`);
    expect(features.length).toBe(2048);
    expect(relativeError(features, wantFeatures)).toBeLessThanOrEqual(1e-4);
    // embed = the features of the preprocessed image; normalized: unit length
    expect(await model.embed(husky)).toEqual(features);
    const unit = await model.embed(husky, { normalize: true });
    expect(Math.hypot(...unit)).toBeCloseTo(1, 5);
  });
});

describe('the 100 ImageNet sample images', () => {
  it('top-1 equals the TF.js reference wherever its top-1/top-2 gap exceeds 0.02; top-1 agreement with f32: f16 >= 99/100, int8 >= 97/100 and accuracy within 1 image; accuracy vs labels reported', async () => {
    const fixture = JSON.parse(
      await readFile(join(packageRoot(), 'test', 'fixtures', 'imagenet-sample-reference.json'), 'utf8'),
    ) as {
      images: Array<{ file: string; label: number; top5: Array<{ index: number; probability: number }> }>;
    };
    expect(fixture.images).toHaveLength(100);
    let agree = 0,
      checked = 0,
      correct = 0,
      referenceCorrect = 0,
      halfAgree = 0,
      halfCorrect = 0,
      halfDiff = 0;
    const disagreements: string[] = [];
    const half = await loadResNet({ precision: 'f16' });
    expect(half.info.precision).toBe('f16');
    expect(half.info.weightBytes).toBeLessThan(0.6 * model.info.weightBytes);
    const int8 = await loadResNet({ precision: 'int8' });
    expect(int8.info.weightBytes).toBeLessThan(0.3 * model.info.weightBytes);
    let halfWithF32 = 0,
      int8WithF32 = 0,
      int8Correct = 0;
    const batch = 4;
    for (let i = 0; i < fixture.images.length; i += batch) {
      const group = fixture.images.slice(i, i + batch);
      const input = new Float32Array(group.length * 224 * 224 * 3);
      for (const [j, image] of group.entries())
        preprocessImage(await decodeImage(join(sampleDir, image.file)), CAFFE_PREPROCESSING, input, j * 224 * 224 * 3);
      const probs = await model.infer(input, { batch: group.length });
      const halfProbs = await half.infer(input, { batch: group.length });
      const int8Probs = await int8.infer(input, { batch: group.length });
      for (let j = 0; j < probs.length; j++) halfDiff = Math.max(halfDiff, Math.abs(halfProbs[j]! - probs[j]!));
      for (const [j, image] of group.entries()) {
        const top1 = topK(probs.subarray(j * 1000, (j + 1) * 1000), 1)[0]!;
        const halfTop1 = topK(halfProbs.subarray(j * 1000, (j + 1) * 1000), 1)[0]!;
        if (halfTop1 === image.top5[0]!.index) halfAgree++;
        if (halfTop1 === image.label) halfCorrect++;
        const int8Top1 = topK(int8Probs.subarray(j * 1000, (j + 1) * 1000), 1)[0]!;
        if (halfTop1 === top1) halfWithF32++;
        if (int8Top1 === top1) int8WithF32++;
        if (int8Top1 === image.label) int8Correct++;
        const ref = image.top5;
        const gap = ref[0]!.probability - ref[1]!.probability;
        if (top1 === image.label) correct++;
        if (ref[0]!.index === image.label) referenceCorrect++;
        if (top1 === ref[0]!.index) agree++;
        else disagreements.push(`${image.file}: engine ${top1}, TF.js ${ref[0]!.index} (gap ${gap.toFixed(3)})`);
        if (gap > 0.02) {
          checked++;
          expect(top1, `${image.file} (TF.js gap ${gap.toFixed(3)})`).toBe(ref[0]!.index);
        }
      }
    }
    half.dispose();
    int8.dispose();
    console.log(
      `top-1 agreement with f32: f16 ${halfWithF32}/100, int8 ${int8WithF32}/100; accuracy: f32 ${correct}/100, f16 ${halfCorrect}/100, int8 ${int8Correct}/100`,
    );
    expect(halfWithF32).toBeGreaterThanOrEqual(99);
    expect(int8WithF32).toBeGreaterThanOrEqual(97);
    expect(Math.abs(int8Correct - correct)).toBeLessThanOrEqual(1);
    console.log(
      `top-1 agreement with TF.js: ${agree}/100 (${checked} with a gap > 0.02, all required); accuracy vs labels: engine ${correct}/100, TF.js ${referenceCorrect}/100`,
    );
    console.log(
      `f16 weights: top-1 agreement with TF.js ${halfAgree}/100, accuracy ${halfCorrect}/100, max |probability difference| from f32 ${halfDiff.toExponential(2)}`,
    );
    expect(halfAgree).toBeGreaterThanOrEqual(99);
    if (disagreements.length) console.log(`disagreements: ${disagreements.join('; ')}`);
    expect(correct).toBe(referenceCorrect);
  });
});

describe('images and inputs', () => {
  it('classifies a grayscale JPEG and a PNG (with alpha), from a path and from bytes', async () => {
    const gray = await model.classify(grayscale, { topK: 3 });
    // classify's top-3 are the three largest probabilities infer gives for the same image, in order
    const probabilities = await model.infer(await model.preprocess(grayscale));
    expect(gray.map((p) => p.index)).toEqual(topK(probabilities, 3));
    for (const p of gray) expect(p.probability).toBe(probabilities[p.index]);
    const fromBytes = await model.classify(await readFile(grayscale), { topK: 3 });
    expect(fromBytes.map((p) => p.index)).toEqual(gray.map((p) => p.index));
    // the husky as RGBA PNG: same pixels, so the same prediction as the JPEG's decoded pixels
    const png = join(work, 'husky.png');
    await writeFile(png, await sharp(husky).ensureAlpha().png().toBuffer());
    const fromPng = await model.classify(png, { topK: 5 });
    const fromJpeg = await model.classify(husky, { topK: 5 });
    expect(fromPng.map((p) => p.index)).toEqual(fromJpeg.map((p) => p.index));
    expect(fromJpeg[0]).toMatchObject({ index: expect.any(Number), label: model.labels[fromJpeg[0]!.index] });
  });

  it('GPU preprocessing from a texture matches the CPU path (within 1/255), same top-1, output into a GPUBuffer', async () => {
    const device = model.device;
    const upload = async (bytes: Buffer | string) => {
      const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const texture = device.createTexture({
        size: [info.width, info.height],
        format: 'rgba8unorm',
        usage: 0x4 /* TEXTURE_BINDING */ | 0x2 /* COPY_DST */,
      });
      device.queue.writeTexture({ texture }, data, { bytesPerRow: info.width * 4 }, [info.width, info.height]);
      return texture;
    };
    const files = [
      '000_n01440764_tench.JPEG',
      '710_n03908714_pencil_sharpener.JPEG',
      '250_n02110185_Siberian_husky.JPEG',
    ];
    for (const file of files) {
      const path = join(sampleDir, file);
      // as is (shorter side 256: crop only) and enlarged 3x (then shrunk on the GPU with the antialiasing filter)
      for (const bytes of [
        await readFile(path),
        await sharp(path)
          .resize({ width: 3 * (await sharp(path).metadata()).width! })
          .png()
          .toBuffer(),
      ]) {
        const texture = await upload(bytes);
        // the center crop, and a view as training's augmentation takes them (another crop, mirrored)
        for (const view of [undefined, { at: [0.9, 0.3], flip: true } as const]) {
          const gpu = (await model.inferTexture(texture, { output: 'input', view }))!;
          const cpu = await model.preprocess(bytes, view);
          let diff = 0;
          for (let i = 0; i < cpu.length; i++) diff = Math.max(diff, Math.abs(gpu[i]! - cpu[i]!));
          expect(diff, `${file} ${texture.width}x${texture.height} ${JSON.stringify(view)}`).toBeLessThanOrEqual(1); // caffe units: 1 = 1/255 of the pixel range
        }
        expect((await model.classifyTexture(texture, { topK: 1 }))[0]!.index, file).toBe(
          (await model.classify(bytes, { topK: 1 }))[0]!.index,
        );
        texture.destroy();
      }
    }
    // output kept on the GPU: copied into the caller's buffer, nothing read back
    const texture = await upload(await readFile(husky));
    const out = device.createBuffer({
      size: 4000,
      usage: 0x80 /* STORAGE */ | 0x8 /* COPY_DST */ | 0x4 /* COPY_SRC */,
    });
    expect(await model.inferTexture(texture, { into: { buffer: out } })).toBeUndefined();
    const read = device.createBuffer({ size: 4000, usage: 0x1 /* MAP_READ */ | 0x8 });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(out, 0, read, 0, 4000);
    device.queue.submit([encoder.finish()]);
    const keep = setInterval(() => {}, 1);
    await read.mapAsync(1);
    clearInterval(keep);
    const probs = new Float32Array(read.getMappedRange().slice(0));
    const cpuProbs = await model.infer(await model.preprocess(husky));
    let diff = 0;
    for (let i = 0; i < 1000; i++) diff = Math.max(diff, Math.abs(probs[i]! - cpuProbs[i]!));
    expect(diff).toBeLessThan(1e-4);
    // features and deleted blocks from a texture: as from the CPU-preprocessed tensor
    const gpuFeatures = (await model.inferTexture(texture, { output: 'features', skipBlocks: ['layer2.1'] }))!;
    const cpuFeatures = await model.infer(await model.preprocess(husky), {
      output: 'features',
      skipBlocks: ['layer2.1'],
    });
    expect(gpuFeatures.length).toBe(2048);
    expect(relativeError(gpuFeatures, cpuFeatures)).toBeLessThan(1e-2); // the two preprocessings differ by up to 1/255 per pixel
    expect((await model.classifyTexture(texture, { topK: 1, skipBlocks: ['layer1.1'] }))[0]!.index).toBe(361); // as TF.js without res2b
    await expect(model.inferTexture(texture, { output: 'embedding' as 'features' })).rejects.toThrow(
      /output must be 'probabilities', 'logits', 'features' or 'input'/,
    );
    for (const b of [texture, out, read]) b.destroy();
  });

  it('an rgba8unorm-srgb or bgra8unorm-srgb texture is read as the bytes it holds, not as linear values', async () => {
    const device = model.device;
    const { data, info } = await sharp(husky).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const bgra = Buffer.from(data);
    for (let i = 0; i < bgra.length; i += 4) [bgra[i], bgra[i + 2]] = [bgra[i + 2]!, bgra[i]!];
    const tensor = async (format: GPUTextureFormat, bytes: Buffer) => {
      const texture = device.createTexture({ size: [info.width, info.height], format, usage: 0x4 | 0x2 });
      device.queue.writeTexture({ texture }, bytes, { bytesPerRow: info.width * 4 }, [info.width, info.height]);
      try {
        return (await model.inferTexture(texture, { output: 'input' }))!;
      } finally {
        texture.destroy();
      }
    };
    const linear = await tensor('rgba8unorm', data);
    for (const [format, bytes] of [
      ['rgba8unorm-srgb', data],
      ['bgra8unorm-srgb', bgra],
    ] as const) {
      const got = await tensor(format, bytes);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - linear[i]!));
      expect(diff, format).toBeLessThan(1e-2); // caffe units (1 = 1/255): the same bytes, to float rounding
    }
  });

  it('NCHW input gives the NHWC result', async () => {
    const nhwc = preprocessImage(await decodeImage(husky), CAFFE_PREPROCESSING);
    const nchw = new Float32Array(nhwc.length);
    for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) nchw[c * 224 * 224 + p] = nhwc[p * 3 + c]!;
    const a = await model.infer(nhwc, { output: 'logits' });
    const b = await model.infer(nchw, { layout: 'nchw', output: 'logits' });
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it("runs on the caller's own GPUDevice and leaves it alive on dispose", async () => {
    const { acquireNodeDevice } = await import('../src/node/gpu.js');
    const mine = await acquireNodeDevice();
    try {
      const own = await loadResNet({ device: mine.device });
      expect(own.device).toBe(mine.device);
      const top = await own.classify(husky, { topK: 1 });
      expect(top[0]!.index).toBe((await model.classify(husky, { topK: 1 }))[0]!.index);
      own.dispose();
      // the device is still usable: a buffer round trip works
      const b = mine.device.createBuffer({ size: 16, usage: 0x1 | 0x8, mappedAtCreation: false });
      mine.device.queue.writeBuffer(b, 0, new Float32Array([1, 2, 3, 4]));
      const keep = setInterval(() => {}, 1);
      await b.mapAsync(1);
      clearInterval(keep);
      expect(Array.from(new Float32Array(b.getMappedRange()))).toEqual([1, 2, 3, 4]);
      b.destroy();
    } finally {
      mine.release();
    }
  });

  it('reports GPU memory: the weights, then also the arena of each batch used (use after dispose: test/lifetimes.test.ts)', async () => {
    const second = await loadResNet();
    expect(second.info.weightBytes).toBeGreaterThan(100e6);
    const before = second.gpuBytes;
    await second.infer(new Float32Array(150528));
    expect(before).toBe(second.info.weightBytes);
    // now also the batch-1 arena, its 16-byte params uniform and the readback buffer (the largest output a
    // run reads back: the 2048 features, more than the 1000 probabilities or logits)
    expect(second.gpuBytes).toBe(second.info.weightBytes + second.arenaBytes(1) + 16 + 2048 * 4);
    second.dispose();
  });
});

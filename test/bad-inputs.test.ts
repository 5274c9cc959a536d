/**
 * Bad inputs through the public API, one test each: a typed error whose message names the problem (file,
 * tensor, expected vs found), no crash, no hang, and afterwards the same loaded model still classifies a
 * photo exactly as before. Cases the engine accepts (alpha, 16-bit, 1x1) must give a valid answer. Broken
 * model files: test/bad-files.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { InputError, TORCH_PREPROCESSING } from '../src/index.js';
import { loadResNet } from '../src/node.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { husky, pngClaiming, r18, useBadInputs } from './helpers/bad-inputs.js';

const { ctx, refused, stillWorks, file } = useBadInputs();

describe('images', () => {
  it('a 0-byte file', async () => {
    const p = await file('empty.jpg', new Uint8Array(0));
    await refused(() => ctx.model.classify(p), InputError, /empty\.jpg: empty, not an image/);
    await refused(() => ctx.model.classify(new Uint8Array(0)), InputError, /empty, not an image/);
  });
  it('a file that is not an image', async () => {
    await refused(
      async () => ctx.model.classify(await file('notes.jpg', 'just some text, not pixels')),
      InputError,
      /notes\.jpg: cannot decode image/,
    );
  });
  it('a truncated JPEG', async () => {
    const bytes = await readFile(husky);
    await refused(
      async () => ctx.model.classify(await file('truncated.jpg', bytes.subarray(0, bytes.length >> 1))),
      InputError,
      /truncated\.jpg: cannot decode image/,
    );
  });
  it('a corrupt JPEG (garbage over the scan data)', async () => {
    const bytes = new Uint8Array(await readFile(husky));
    bytes.fill(0xff, 2000, 6000); // runs of 0xFF are not valid entropy-coded data
    await refused(
      async () => ctx.model.classify(await file('corrupt.jpg', bytes)),
      InputError,
      /corrupt\.jpg: cannot decode image/,
    );
  });
  it('an image over the pixel limit (a PNG claiming 20000 x 20000) is refused before decoding', async () => {
    await refused(
      async () => ctx.model.classify(await file('huge.png', await pngClaiming(20000, 20000))),
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
    const want = (await ctx.model.classify(new Uint8Array(rgb), { topK: 1 }))[0]!.index;
    expect((await ctx.model.classify(new Uint8Array(alpha), { topK: 1 }))[0]!.index).toBe(want);
    expect((await ctx.model.classify(new Uint8Array(deep), { topK: 1 }))[0]!.index).toBe(want);
    const one = await ctx.model.classify(new Uint8Array(tiny), { topK: 1000 });
    expect(one.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 3);
    await stillWorks();
  });
});

describe('raw inputs', () => {
  it('NaN', async () => {
    const x = ctx.huskyInput.slice();
    x[1234] = NaN;
    await refused(() => ctx.model.infer(x), InputError, 'input[1234] is NaN: every value must be finite');
  });
  it('Infinity', async () => {
    const x = ctx.huskyInput.slice();
    x[x.length - 1] = Infinity;
    await refused(() => ctx.model.infer(x), InputError, `input[${x.length - 1}] is Infinity`);
  });
  it('wrong length', async () => {
    await refused(
      () => ctx.model.infer(new Float32Array(1000)),
      InputError,
      'input holds 1000 values, expected 1x224x224x3 = 150528 (NHWC)',
    );
    await refused(
      () => ctx.model.infer(new Float32Array(150528), { batch: 2, layout: 'nchw' }),
      InputError,
      'expected 2x3x224x224 = 301056 (NCHW)',
    );
  });
  it('batch 0 and a fractional batch', async () => {
    await refused(
      () => ctx.model.infer(new Float32Array(0), { batch: 0 }),
      InputError,
      'batch must be a positive integer, got 0',
    );
    await refused(
      () => ctx.model.infer(ctx.huskyInput, { batch: 1.5 }),
      InputError,
      'batch must be a positive integer, got 1.5',
    );
  });
  it('not a Float32Array, an unknown layout or output, topK 0, unknown residual blocks', async () => {
    await refused(
      () => ctx.model.infer([1, 2, 3] as unknown as Float32Array),
      InputError,
      'input must be a Float32Array',
    );
    await refused(
      () => ctx.model.infer(ctx.huskyInput, { layout: 'nwhc' as 'nhwc' }),
      InputError,
      `layout must be 'nhwc' or 'nchw', got "nwhc"`,
    );
    await refused(
      () => ctx.model.infer(ctx.huskyInput, { output: 'embedding' as 'logits' }),
      InputError,
      `output must be 'probabilities', 'logits' or 'features', got "embedding"`,
    );
    await refused(
      () => ctx.model.classify(husky, { skipBlocks: ['layer5.0'] }),
      InputError,
      'unknown residual block "layer5.0": this resnet50 has layer1.0..layer1.2, layer2.0..layer2.3, layer3.0..layer3.5, layer4.0..layer4.2',
    );
    await refused(
      () => ctx.model.embed(husky, { skipBlocks: 'layer1.0' as unknown as string[] }),
      InputError,
      'skipBlocks must be an array of block names such as "layer3.2"',
    );
    await refused(() => ctx.model.classify(husky, { topK: 0 }), InputError, 'topK must be a positive integer, got 0');
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
      () =>
        loadResNet({ source: { safetensors: writeSafetensors(r18.params) }, device: ctx.model.device, recover: true }),
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

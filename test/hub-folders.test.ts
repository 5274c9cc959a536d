/**
 * Model folders as the hubs ship them, with a family fixture's network (test/helpers/family.ts) inside:
 * a Hugging Face transformers folder (config.json, model.safetensors in transformers' names,
 * preprocessor_config.json), the same as transformers.js ships it (onnx/model.onnx) served over HTTP, and a
 * timm folder (config.json with pretrained_cfg and label_names). Each must give the library's logits, the
 * folder's labels and its preprocessing (bicubic: the GPU kernel against the CPU path too).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLogits, goldenInput, goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { resizeGraph } from '../src/graph/resize.js';
import { loadSafetensorsResNet } from '../src/loaders/safetensors.js';
import { loadResNet } from '../src/node.js';
import { fixture, input, size, stateDict } from './helpers/family.js';
import { transformersConfig, transformersName, writeHuggingFaceFolder } from './helpers/hub-folder.js';
import { sharedPath } from './helpers/needs.js';

const results: string[] = [];
afterAll(() => {
  if (results.length)
    console.log(`\n| network | as | format | max rel. logit error |\n| --- | --- | --- | --- |\n${results.join('\n')}`);
});

describe('model folders as the hubs ship them', () => {
  const labels = Array.from({ length: 100 }, (_, i) => `class ${i} of the folder`);
  const photo = () => sharedPath('data', 'imagenet-sample', '250_n02110185_Siberian_husky.JPEG');

  it('a Hugging Face folder (config.json, model.safetensors in transformers names, preprocessor_config.json): logits, labels, bicubic preprocessing on the CPU and the GPU', async () => {
    const want = fixture.models['timm-resnet26']!;
    const folder = await mkdtemp(join(tmpdir(), 'webgpu-resnet-hf-'));
    try {
      const processor = await writeHuggingFaceFolder(folder, want, labels, size);
      const model = await loadResNet({ source: folder });
      try {
        const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
        results.push(
          `| timm-resnet26 | as a Hugging Face folder | safetensors (transformers names) | ${check.error.toExponential(2)} |`,
        );
        expect(check.error).toBeLessThanOrEqual(1e-4);
        expect(model.labels).toEqual(labels);
        expect(model.info).toMatchObject({ architecture: 'ResNet-26', labelsFrom: 'config.json id2label' });
        expect(model.preprocessing).toMatchObject({
          cropTo: size,
          resizeTo: 88, // int(80 / 0.9), as transformers' ConvNextImageProcessor
          interpolation: 'bicubic',
        });
        const top = await model.classify(photo(), { topK: 1 });
        expect(top[0]!.label).toBe(labels[top[0]!.index]);
        // the GPU's bicubic resize (shrinking a 3x enlargement) against the CPU path's
        const bytes = await sharp(photo()).resize({ width: 1500 }).png().toBuffer();
        const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        const texture = model.device.createTexture({
          size: [info.width, info.height],
          format: 'rgba8unorm',
          usage: 0x4 | 0x2,
        });
        model.device.queue.writeTexture({ texture }, data, { bytesPerRow: info.width * 4 }, [info.width, info.height]);
        const gpu = (await model.inferTexture(texture, { output: 'input' }))!;
        texture.destroy();
        const cpu = await model.preprocess(bytes);
        let levels = 0;
        for (let i = 0; i < cpu.length; i++)
          levels = Math.max(levels, Math.abs(gpu[i]! - cpu[i]!) * 255 * processor.image_std[i % 3]!);
        console.log(`bicubic preprocessing, GPU vs CPU: ${levels.toFixed(3)} levels of 255 at most`);
        expect(levels).toBeLessThanOrEqual(1);
      } finally {
        model.dispose();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("a Hugging Face folder of a basic-block ResNet-18 (layer.0/.1 in each layer): torchvision's golden logits", async () => {
    // microsoft/resnet-18's layout (transformersConfig('basic')); the golden generator's weights
    const golden = JSON.parse(await readFile(sharedPath('golden', 'torchvision-resnet-golden.json'), 'utf8'));
    const tensors = goldenModel(18).params.map((p) => ({ ...p, name: transformersName(p.name) }));
    expect(tensors.map((t) => t.name)).toContain('resnet.encoder.stages.1.layers.0.layer.1.convolution.weight');
    const folder = await mkdtemp(join(tmpdir(), 'webgpu-resnet-hf18-'));
    try {
      await writeFile(join(folder, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
      await writeFile(join(folder, 'config.json'), JSON.stringify(transformersConfig('basic')));
      const model = await loadResNet({ source: folder });
      try {
        const got = await model.infer(goldenInput(), { batch: 2, layout: 'nchw', output: 'logits' });
        const check = compareLogits(got, golden.models.resnet18);
        results.push(
          `| torchvision resnet18 | as a Hugging Face folder | safetensors (transformers names) | ${check.error.toExponential(2)} |`,
        );
        expect(check.error).toBeLessThanOrEqual(1e-4);
        expect(check.top5).toEqual(golden.models.resnet18.top5);
        expect(model.info.architecture).toBe('ResNet-18');
      } finally {
        model.dispose();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('a transformers.js folder over HTTP (a URL ending in /: config.json, onnx/model.onnx, preprocessor_config.json)', async () => {
    const want = fixture.models['timm-resnet26']!;
    const folder = await mkdtemp(join(tmpdir(), 'webgpu-resnet-hfjs-'));
    const server = createServer(async (request, response) => {
      const path = decodeURIComponent(new URL(request.url!, 'http://x').pathname).replace(/^\/model\//, '');
      const bytes = await readFile(join(folder, path)).catch(() => undefined);
      response.writeHead(bytes ? 200 : 404).end(bytes);
    });
    try {
      await writeHuggingFaceFolder(folder, want, labels, size);
      const graph = loadSafetensorsResNet(await readFile(join(folder, 'model.safetensors')), 'model.safetensors');
      await rm(join(folder, 'model.safetensors'));
      await mkdir(join(folder, 'onnx'));
      await writeFile(
        join(folder, 'onnx', 'model.onnx'),
        graphToOnnx(resizeGraph(graph, [size, size]), { softmax: false }),
      );
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model/`;
      const model = await loadResNet({ source: url, cache: false });
      try {
        const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
        results.push(
          `| timm-resnet26 | as a transformers.js folder over HTTP | ONNX | ${check.error.toExponential(2)} |`,
        );
        expect(check.error).toBeLessThanOrEqual(1e-4);
        expect(model.labels).toEqual(labels);
        expect(model.info).toMatchObject({
          architecture: 'ResNet-26',
          labelsFrom: 'config.json id2label',
          weightsFrom: 'network',
        });
        expect(model.preprocessing.interpolation).toBe('bicubic');
      } finally {
        model.dispose();
      }
    } finally {
      server.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('a timm folder (config.json with pretrained_cfg and label_names, model.safetensors): logits, labels, crop_pct', async () => {
    const want = fixture.models['timm-resnet26d']!;
    const folder = await mkdtemp(join(tmpdir(), 'webgpu-resnet-timm-'));
    try {
      await writeFile(join(folder, 'model.safetensors'), stateDict(want));
      const pretrained_cfg = {
        input_size: [3, size, size],
        interpolation: 'bicubic',
        crop_pct: 0.9,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        num_classes: 100,
      };
      const config = {
        architecture: 'resnet26d',
        num_classes: 100,
        num_features: 2048,
        label_names: labels,
        pretrained_cfg,
      };
      await writeFile(join(folder, 'config.json'), JSON.stringify(config));
      // the folder's own size asked for keeps its crop_pct; another size uses it too (floor(96 / 0.9) = 106)
      const other = await loadResNet({ source: folder, inputSize: 96 });
      expect(other.preprocessing).toMatchObject({ cropTo: 96, resizeTo: 106 });
      other.dispose();
      const model = await loadResNet({ source: folder, inputSize: size });
      try {
        const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
        results.push(`| timm-resnet26d | as a timm folder | safetensors | ${check.error.toExponential(2)} |`);
        expect(check.error).toBeLessThanOrEqual(1e-4);
        expect(model.labels).toEqual(labels);
        expect(model.info).toMatchObject({
          architecture: 'ResNet-26, deep stem, avg-pool shortcut',
          labelsFrom: 'config.json label_names',
        });
        expect(model.preprocessing).toMatchObject({
          cropTo: size,
          resizeTo: 88, // floor(80 / 0.9), as timm
          interpolation: 'bicubic',
        });
      } finally {
        model.dispose();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

/**
 * Any input size: the network planned for 288 x 288 and 256 x 320 against onnxruntime running an ONNX
 * export of the same network at that size (torchvision ResNet-18/50 with golden weights, and the Keras
 * ResNet-50); embeddings, lesions and class activation maps (9 x 9) at 288; bad sizes refused.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeSafetensors } from '../src/export/safetensors.js';
import type { Graph } from '../src/graph/graph.js';
import { resizeGraph } from '../src/graph/resize.js';
import { InputError } from '../src/errors.js';
import { loadGraph, loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { goldenModel } from '../scripts/golden-model.js';
import { randomArray, relativeError } from './helpers/reference.js';
import { ortRun } from './helpers/onnx.js';

const photo = join(packageRoot(), 'demo', 'samples', '340_n02391049_zebra.JPEG');

const ortLogits = (graph: Graph, nchw: Float32Array, size: [number, number]) => ortRun(graph, nchw, { size });

describe('input sizes other than 224', () => {
  const cases: Array<[string, () => Promise<{ raw: Graph; source: Parameters<typeof loadResNet>[0] }>]> = [
    [
      'torchvision ResNet-18',
      async () => {
        const { params, graph } = goldenModel(18);
        return { raw: graph, source: { source: { safetensors: writeSafetensors(params) } } };
      },
    ],
    [
      'torchvision ResNet-50',
      async () => {
        const { params, graph } = goldenModel(50);
        return { raw: graph, source: { source: { safetensors: writeSafetensors(params) } } };
      },
    ],
    ['Keras ResNet-50 (pretrained)', async () => ({ raw: (await loadGraph({})).graph, source: {} })],
  ];
  for (const [name, make] of cases) {
    it(`${name} at 288x288 and 256x320: logits within 1e-4 of onnxruntime on an ONNX export at that size`, async () => {
      const { raw, source } = await make();
      for (const size of [
        [288, 288],
        [256, 320],
      ] as Array<[number, number]>) {
        const model = await loadResNet({ ...source, inputSize: size });
        try {
          expect(model.info.inputShape).toEqual([...size, 3]);
          const x = randomArray(3 * size[0] * size[1], size[0] + size[1]);
          const got = await model.infer(x, { layout: 'nchw', output: 'logits' });
          const want = await ortLogits(resizeGraph(raw, size), x, size);
          const error = relativeError(got, want);
          console.log(`${name} at ${size.join('x')}: max rel. logit error vs onnxruntime ${error.toExponential(2)}`);
          expect(error).toBeLessThan(1e-4);
        } finally {
          model.dispose();
        }
      }
    });
  }

  it('at 288: images crop 288 after resizing to 329, the maps are 9x9, embeddings and lesions run; bad sizes are InputErrors', async () => {
    const model = await loadResNet({ inputSize: 288 });
    try {
      expect(model.preprocessing).toMatchObject({ resizeTo: 329, cropTo: 288 });
      const [top] = await model.classify(photo, { topK: 1 });
      expect(top!.index).toBe(340);
      const [e] = await model.explain(photo);
      expect([e!.height, e!.width, e!.map.length]).toEqual([9, 9, 81]);
      expect((await model.embed(photo)).length).toBe(2048);
      const [lesioned] = await model.classify(photo, { topK: 1, skipBlocks: ['layer4.2'] });
      expect(lesioned!.index).toBeGreaterThanOrEqual(0);
    } finally {
      model.dispose();
    }
    const wide = await loadResNet({ inputSize: [256, 320] });
    try {
      await expect(wide.classify(photo)).rejects.toThrow(InputError);
      await expect(wide.classify(photo)).rejects.toThrow(
        "images are center-cropped to a square: this model's input is 256x320",
      );
    } finally {
      wide.dispose();
    }
    await expect(loadResNet({ inputSize: 0 })).rejects.toThrow(
      'inputSize must be whole numbers of pixels from 1 to 16384, got 0x0',
    );
    await expect(loadResNet({ inputSize: 224, cropPct: 1.5 })).rejects.toThrow('cropPct must be in (0, 1], got 1.5');
  });
});

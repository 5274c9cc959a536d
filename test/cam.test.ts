/**
 * Class activation maps (model.explain) on torchvision ResNets with the golden generator's weights: the
 * identity mean(map) + bias = logit for every depth (and int8 weights), the maps against onnxruntime's
 * last-stage output times the dense weights (computed here in float64), and a deleted block changing the
 * map as it changes the network (onnxruntime on the graph rewired by hand).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/export/safetensors.js';
import type { Graph } from '../src/graph/graph.js';
import { lesionRaw, ortRun } from './helpers/onnx.js';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { upsampleMap } from '../src/index.js';
import { goldenModel } from '../scripts/golden-model.js';
import { join } from 'node:path';

const photo = join(packageRoot(), 'demo', 'samples', '340_n02391049_zebra.JPEG');
const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`\n| network | check | value |\n| --- | --- | --- |\n${report.join('\n')}`);
});

/** The last stage's output (what the average pool reads) from onnxruntime, NCHW [C][H][W]. */
function lastStage(graph: Graph, tensor: string, nhwc: Float32Array): Promise<Float32Array> {
  const nchw = new Float32Array(nhwc.length);
  for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) nchw[c * 224 * 224 + p] = nhwc[p * 3 + c]!;
  return ortRun(graph, nchw, { output: tensor });
}

/** M_c(p) = sum_k fc.weight[c][k] f[k][p], in float64. */
function referenceMap(f: Float32Array, fcWeight: Float32Array, c: number, channels: number, hw: number): Float64Array {
  const map = new Float64Array(hw);
  for (let k = 0; k < channels; k++) {
    const w = fcWeight[c * channels + k]!;
    for (let p = 0; p < hw; p++) map[p] = map[p]! + w * f[k * hw + p]!;
  }
  return map;
}

const maxRel = (got: Float32Array, want: Float64Array) => {
  let diff = 0,
    scale = 0;
  want.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(got[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
};

describe('class activation maps (explain)', () => {
  for (const depth of [18, 34, 50, 101, 152]) {
    it(`ResNet-${depth}: mean(map) + bias = logit for the top 3 classes, and the logits are infer's`, async () => {
      const model = await loadResNet({ source: { safetensors: writeSafetensors(goldenModel(depth).params) } });
      try {
        const explained = await model.explain(photo, { topK: 3 });
        const logits = await model.infer(await model.preprocess(photo), { output: 'logits' });
        const scale = Math.max(...logits.map(Math.abs));
        let worst = 0;
        expect(explained.map((e) => e.classIndex)).toEqual(
          [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, 3),
        );
        for (const e of explained) {
          expect([e.height, e.width, e.map.length]).toEqual([7, 7, 49]);
          const mean = e.map.reduce((a, b) => a + b, 0) / e.map.length;
          worst = Math.max(worst, Math.abs(mean + e.bias - logits[e.classIndex]!) / scale);
          expect(Math.abs(e.logit - logits[e.classIndex]!) / scale).toBeLessThan(1e-6);
        }
        report.push(
          `| ResNet-${depth} | max abs(mean(map) + bias - logit) / max abs(logit) | ${worst.toExponential(2)} |`,
        );
        expect(worst).toBeLessThan(1e-5);
      } finally {
        model.dispose();
      }
    });
  }

  for (const depth of [18, 50]) {
    it(`ResNet-${depth}: the maps equal onnxruntime's last stage times the dense weights; deleting the last block changes them the same way`, async () => {
      const { params, graph } = goldenModel(depth);
      const fc = params.find((p) => p.name === 'fc.weight')!.data;
      const last = depth === 18 ? 'layer4.1' : 'layer4.2';
      const model = await loadResNet({ source: { safetensors: writeSafetensors(params) } });
      try {
        const x = await model.preprocess(photo);
        const channels = depth === 18 ? 512 : 2048;
        for (const skip of [[], [last]]) {
          const explained = await model.explain(photo, { topK: 2, skipBlocks: skip });
          const f = await lastStage(skip.length ? lesionRaw(graph, skip) : graph, `${last}.relu`, x);
          for (const e of explained) {
            const error = maxRel(e.map, referenceMap(f, fc, e.classIndex, channels, 49));
            report.push(
              `| ResNet-${depth}${skip.length ? ` without ${last}` : ''} | map of class ${e.classIndex} vs onnxruntime (max rel.) | ${error.toExponential(2)} |`,
            );
            expect(error).toBeLessThan(1e-4);
          }
        }
        const [intact] = await model.explain(photo, { classIndex: 3 });
        const [lesioned] = await model.explain(photo, { classIndex: 3, skipBlocks: [last] });
        expect(maxRel(lesioned!.map, Float64Array.from(intact!.map))).toBeGreaterThan(1e-3);
      } finally {
        model.dispose();
      }
    });
  }

  it('explainTexture: an image on the GPU gets the maps of the same classes as the CPU path, and the identity holds', async () => {
    const sharp = (await import('sharp')).default;
    const model = await loadResNet({ source: { safetensors: writeSafetensors(goldenModel(18).params) } });
    try {
      const { data, info } = await sharp(photo).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const texture = model.device.createTexture({
        size: [info.width, info.height],
        format: 'rgba8unorm',
        usage: 0x4 | 0x2,
      });
      model.device.queue.writeTexture({ texture }, data, { bytesPerRow: info.width * 4 }, [info.width, info.height]);
      const fromTexture = await model.explainTexture(texture, { topK: 2 });
      const fromCpu = await model.explain(photo, { topK: 2 });
      const logits = (await model.inferTexture(texture, { output: 'logits' }))!;
      texture.destroy();
      expect(fromTexture.map((e) => e.classIndex)).toEqual(fromCpu.map((e) => e.classIndex));
      const scale = Math.max(...logits.map(Math.abs));
      for (const e of fromTexture)
        expect(Math.abs(e.map.reduce((a, b) => a + b, 0) / 49 + e.bias - logits[e.classIndex]!) / scale).toBeLessThan(
          1e-5,
        );
      // GPU and CPU preprocessing agree within 1/255 of the pixel range, so the maps nearly do
      expect(maxRel(fromTexture[0]!.map, Float64Array.from(fromCpu[0]!.map))).toBeLessThan(0.05);
    } finally {
      model.dispose();
    }
  });

  it('int8 weights keep the identity; a class index out of range is an InputError; upsampleMap keeps a constant map constant', async () => {
    const model = await loadResNet({
      source: { safetensors: writeSafetensors(goldenModel(50).params) },
      precision: 'int8',
    });
    try {
      const [e] = await model.explain(photo, { classIndex: 7 });
      const logits = await model.infer(await model.preprocess(photo), { output: 'logits' });
      const mean = e!.map.reduce((a, b) => a + b, 0) / 49;
      expect(Math.abs(mean + e!.bias - logits[7]!) / Math.max(...logits.map(Math.abs))).toBeLessThan(1e-5);
      await expect(model.explain(photo, { classIndex: 1000 })).rejects.toThrow(
        'classIndex must be an integer from 0 to 999, got 1000',
      );
    } finally {
      model.dispose();
    }
    const up = upsampleMap({ map: new Float32Array(49).fill(2), width: 7, height: 7 }, 224, 224);
    expect(up.every((v) => v === 2)).toBe(true);
  });
});

/**
 * Quantized TF.js weight manifests (tensorflowjs_converter --quantize_uint8 / _uint16 / _float16): the
 * pretrained ResNet-50's weights rewritten with uint8, uint16 and float16 entries, read by the engine and
 * by TF.js itself (tfjs-core's io.decodeWeights) from the same bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { loadResNet } from '../src/node.js';
import { defaultModelPath } from '../src/node/paths.js';
import { floatToHalf } from '../src/util/half.js';
import { relativeError } from './helpers/reference.js';

interface Spec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: Record<string, unknown>;
}
let modelJson: { weightsManifest: Array<{ paths: string[]; weights: Spec[] }> } & Record<string, unknown>;
let floats: Map<string, Float32Array>;

/** Affine quantization to `bits` as the converter writes it: value = q * scale + min. */
function affine(w: Float32Array, bits: 8 | 16): { q: Uint8Array | Uint16Array; scale: number; min: number } {
  let min = Infinity,
    max = -Infinity;
  for (const v of w) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const levels = 2 ** bits - 1;
  const scale = max > min ? (max - min) / levels : 1;
  const q = bits === 8 ? new Uint8Array(w.length) : new Uint16Array(w.length);
  for (const [i, v] of w.entries()) q[i] = Math.round((v - min) / scale);
  return { q, scale, min };
}

/** The model with its weights in one group of 4 MB shards, each weight quantized by `pick`. */
function quantizedModel(pick: (i: number) => 'uint8' | 'uint16' | 'float16' | undefined): {
  json: object;
  weights: Record<string, Uint8Array>;
  specs: Spec[];
  data: Uint8Array;
} {
  const specs: Spec[] = [];
  const parts: Uint8Array[] = [];
  modelJson.weightsManifest
    .flatMap((g) => g.weights)
    .forEach((spec, i) => {
      const w = floats.get(spec.name)!;
      const kind = pick(i);
      if (kind === 'float16') {
        specs.push({ ...spec, quantization: { dtype: 'float16', original_dtype: 'float32' } });
        parts.push(new Uint8Array(Uint16Array.from(w, floatToHalf).buffer));
      } else if (kind) {
        const { q, scale, min } = affine(w, kind === 'uint8' ? 8 : 16);
        specs.push({ ...spec, quantization: { dtype: kind, scale, min, original_dtype: 'float32' } });
        parts.push(new Uint8Array(q.buffer));
      } else {
        specs.push({ ...spec });
        parts.push(new Uint8Array(w.buffer.slice(0)));
      }
    });
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  const shard = 4 << 20;
  const paths: string[] = [];
  const weights: Record<string, Uint8Array> = {};
  for (let i = 0; i * shard < data.length; i++) {
    paths.push(`group1-shard${i + 1}.bin`);
    weights[paths[i]!] = data.subarray(i * shard, (i + 1) * shard);
  }
  return { json: { ...modelJson, weightsManifest: [{ paths, weights: specs }] }, weights, specs, data };
}

beforeAll(async () => {
  const path = defaultModelPath();
  modelJson = JSON.parse(await readFile(path, 'utf8'));
  floats = new Map();
  for (const group of modelJson.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(join(dirname(path), p)))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      floats.set(
        w.name,
        new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n)),
      );
      offset += 4 * n;
    }
  }
});

describe('quantized TF.js weight manifests', () => {
  it('uint8, uint16 and float16 entries decode exactly as TF.js decodes them, and the model runs on the same values', async () => {
    const kinds = ['uint8', 'uint16', 'float16', undefined] as const;
    const { json, weights, specs, data } = quantizedModel((i) => kinds[i % 4]);
    const reference = tf.io.decodeWeights(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
      specs as tf.io.WeightsManifestEntry[],
    );
    // The engine on the quantized files, and on float32 files holding TF.js's decoded values: the same network.
    const decodedByTfjs: Spec[] = specs.map(({ quantization: _q, ...s }) => s);
    const tfjsFloats = Buffer.concat(
      specs.map((s) => {
        const d = reference[s.name]!.dataSync() as Float32Array;
        return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      }),
    );
    expect(tfjsFloats.length).toBe(specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0));
    const quantized = await loadResNet({ source: { modelJson: json, weights } });
    const viaTfjs = await loadResNet({
      source: {
        modelJson: { ...modelJson, weightsManifest: [{ paths: ['all.bin'], weights: decodedByTfjs }] },
        weights: { 'all.bin': new Uint8Array(tfjsFloats) },
      },
    });
    const f32 = await loadResNet();
    try {
      const x = await f32.preprocess('demo/samples/340_n02391049_zebra.JPEG');
      const [a, b, c] = await Promise.all([quantized, viaTfjs, f32].map((m) => m.infer(x, { output: 'logits' })));
      expect(relativeError(a!, b!)).toBeLessThan(1e-6);
      const [top] = quantized.top(await quantized.infer(x), 1);
      console.log(
        `uint8/uint16/float16/float32 mix: max rel. logit difference from float32 ${relativeError(a!, c!).toExponential(2)}; zebra photo top-1 ${top!.label} (${top!.probability.toFixed(3)})`,
      );
      expect(top!.index).toBe(340);
    } finally {
      for (const m of [quantized, viaTfjs, f32]) m.dispose();
    }
    // and weight by weight, the engine's decoder against TF.js's
    const { decodeWeight, weightBytes } = await import('../src/loaders/tfjs-weights.js');
    let offset = 0,
      worst = 0;
    for (const s of specs) {
      const n = weightBytes(s, 'test');
      const ours = decodeWeight(s, data.subarray(offset, offset + n), 'test');
      const theirs = reference[s.name]!.dataSync() as Float32Array;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
      offset += n;
    }
    expect(worst).toBe(0);
    tf.dispose(Object.values(reference));
  });

  it('malformed quantization entries are ModelFormatErrors naming the weight', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ dtype: 'int4' }, 'dtype must be uint8, uint16 or float16'],
      [{ dtype: 'uint8', min: 0 }, 'uint8 and uint16 need a finite scale >= 0'],
      [{ dtype: 'uint16', scale: 0.1 }, 'uint8 and uint16 need a finite min'],
      [{ dtype: 'uint8', scale: 0.1, min: 0, original_dtype: 'int32' }, 'only float32 weights are supported'],
    ];
    const { json, weights } = quantizedModel(() => undefined);
    const first = (json as typeof modelJson).weightsManifest[0]!.weights[0]!;
    for (const [quantization, message] of cases) {
      const broken = structuredClone(json) as typeof modelJson;
      broken.weightsManifest[0]!.weights[0]!.quantization = quantization;
      const err = await loadResNet({ source: { modelJson: broken, weights } }).catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(ModelFormatError);
      expect((err as Error).message).toContain(`weight ${first.name} has a bad quantization`);
      expect((err as Error).message).toContain(message);
    }
  });
});

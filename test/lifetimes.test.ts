/**
 * Lifetimes and concurrency: every GPU buffer a model creates is destroyed by dispose() (counted on the
 * device), double dispose is harmless, use after dispose is a clear error; 16 concurrent calls give
 * exactly the sequential results; a short soak keeps GPU bytes and the JS heap flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResNetError } from '../src/errors.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { loadResNet } from '../src/node.js';
import { soak } from '../bench/soak.js';
import { goldenModel, writeSafetensors } from './helpers/golden.js';

let gpu: Awaited<ReturnType<typeof acquireNodeDevice>>;
const safetensors = writeSafetensors(goldenModel(18).params);
const input = (seed: number) => new Float32Array(224 * 224 * 3).map((_, i) => Math.sin(i * 0.001 + seed));

beforeAll(async () => {
  gpu = await acquireNodeDevice();
});
afterAll(() => gpu?.release());

describe('lifetimes', () => {
  it('dispose() destroys every GPU buffer the model created; twice is harmless; use after dispose is a clear error', async () => {
    const device = gpu.device;
    const created = new Set<GPUBuffer>();
    const destroyed = new Set<GPUBuffer>();
    const create = device.createBuffer.bind(device);
    device.createBuffer = (desc: GPUBufferDescriptor) => {
      const b = create(desc);
      created.add(b);
      const destroy = b.destroy.bind(b);
      b.destroy = () => { destroyed.add(b); destroy(); };
      return b;
    };
    try {
      const model = await loadResNet({ source: { safetensors }, device });
      await model.infer(input(1));
      await model.infer(new Float32Array(3 * 224 * 224 * 3), { batch: 3 });
      if (device.features.has('timestamp-query')) await model.profile(1);
      expect(created.size).toBeGreaterThan(40); // weights, arenas, staging, params, readbacks
      model.dispose();
      const leaked = [...created].filter((b) => !destroyed.has(b)).map((b) => b.label);
      expect(leaked).toEqual([]);
      model.dispose();
      await expect(model.infer(input(1))).rejects.toThrow(ResNetError);
      await expect(model.infer(input(1))).rejects.toThrow(/disposed; load a new one/);
      // the caller's device is untouched
      const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
      b.destroy();
    } finally {
      device.createBuffer = create;
    }
  });

  it('a short soak (300 runs): GPU bytes identical at every report, heap flat', async () => {
    const reports = await soak({ runs: 300, every: 100, model: 'resnet18', size: 64 });
    console.log(`soak: ${reports.map((r) => `${r.run}: ${r.gpuBytes} B, heap ${r.heapMB.toFixed(1)} MB`).join('; ')}`);
    expect(new Set(reports.map((r) => r.gpuBytes)).size).toBe(1);
    expect(reports.at(-1)!.heapMB - reports[0]!.heapMB).toBeLessThan(8);
  });
});

describe('concurrency', () => {
  it('16 concurrent calls on one model give exactly the results of 16 sequential calls', async () => {
    const model = await loadResNet({ source: { safetensors }, device: gpu.device });
    try {
      const inputs = Array.from({ length: 16 }, (_, i) => input(i));
      const sequential: Float32Array[] = [];
      for (const x of inputs) sequential.push(await model.infer(x));
      // mixed batch sizes and outputs in flight together
      const concurrent = await Promise.all(inputs.map((x, i) => model.infer(x, { output: i % 3 === 0 ? 'logits' : 'probabilities' })));
      const logits = await Promise.all(inputs.map((x) => model.infer(x, { output: 'logits' })));
      for (let i = 0; i < 16; i++) {
        expect(concurrent[i], `call ${i}`).toEqual(i % 3 === 0 ? logits[i] : sequential[i]);
      }
      const pair = new Float32Array(2 * 224 * 224 * 3);
      pair.set(inputs[3]!, 0);
      pair.set(inputs[7]!, 224 * 224 * 3);
      const [both] = await Promise.all([model.infer(pair, { batch: 2 }), model.infer(inputs[0]!)]);
      expect(Array.from(both!.subarray(0, 1000))).toEqual(Array.from(sequential[3]!));
      expect(Array.from(both!.subarray(1000))).toEqual(Array.from(sequential[7]!));
    } finally {
      model.dispose();
    }
  });
});

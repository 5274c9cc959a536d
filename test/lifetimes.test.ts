/**
 * Lifetimes and concurrency: every GPU buffer a model creates is destroyed by dispose() (counted on the
 * device), double dispose is harmless, use after dispose is a clear error; 16 concurrent calls give
 * exactly the sequential results; a short soak keeps GPU bytes and the JS heap flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPUUnavailableError, ResNetError } from '../src/errors.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { loadResNet, nodePlatform } from '../src/node.js';
import { createModel } from '../src/api/create.js';
import { INTACT } from '../src/plan/plan-cache.js';
import type { RecoveringExecutor } from '../src/runtime/recovery.js';
import { soak } from '../bench/soak.js';
import { goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { whileGPU } from '../src/runtime/keep-alive.js';
import { trackingBuffers } from './helpers/gpu.js';

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
    const { result: model, leaked } = await trackingBuffers(device, async () => {
      const model = await loadResNet({ source: { safetensors }, device });
      await model.infer(input(1));
      await model.infer(new Float32Array(3 * 224 * 224 * 3), { batch: 3 });
      if (device.features.has('timestamp-query')) await model.profile(1);
      return model;
    });
    expect(leaked().length).toBeGreaterThan(40); // weights, arenas, staging, params, readbacks: alive until dispose
    model.dispose();
    expect(leaked()).toEqual([]);
    model.dispose();
    await expect(model.infer(input(1))).rejects.toThrow(ResNetError);
    await expect(model.infer(input(1))).rejects.toThrow(/disposed; load a new one/);
    // the caller's device is untouched: a buffer round trip still works
    const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(b, 0, new Float32Array([1, 2, 3, 4]));
    await whileGPU(b.mapAsync(GPUMapMode.READ));
    expect(Array.from(new Float32Array(b.getMappedRange()))).toEqual([1, 2, 3, 4]);
    b.destroy();
  });

  it('a short soak (300 runs): GPU bytes identical at every report, heap flat', async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc, 'vitest.config.ts passes --expose-gc').toBe('function');
    const reports = await soak({ runs: 300, every: 100, model: 'resnet18', size: 64 });
    console.log(`soak: ${reports.map((r) => `${r.run}: ${r.gpuBytes} B, heap ${r.heapMB.toFixed(1)} MB`).join('; ')}`);
    expect(new Set(reports.map((r) => r.gpuBytes)).size).toBe(1);
    expect(reports.at(-1)!.heapMB - reports[0]!.heapMB).toBeLessThan(4);
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
      const concurrent = await Promise.all(
        inputs.map((x, i) => model.infer(x, { output: i % 3 === 0 ? 'logits' : 'probabilities' })),
      );
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

describe('device loss', () => {
  it('device.destroy() mid-run: the pending call rejects clearly, model.lost resolves, later calls fail clearly, a new loadResNet works', async () => {
    const own = await acquireNodeDevice();
    const model = await loadResNet({ source: { safetensors }, device: own.device });
    const want = await model.infer(input(5));
    const pending = model.infer(new Float32Array(4 * 224 * 224 * 3), { batch: 4 });
    await new Promise((r) => setTimeout(r, 5));
    own.device.destroy();
    // a batch of 4 takes far longer than 5 ms here: the call is pending, and reports the loss (never hangs, never garbage)
    const outcome = await pending.then(
      () => 'finished',
      (e: Error) => e.message,
    );
    console.log(`call pending at device.destroy(): ${outcome}`);
    expect(outcome).toMatch(/the GPU device was lost \(destroyed/);
    expect(await model.lost).toMatchObject({ reason: 'destroyed' });
    await expect(model.infer(input(5))).rejects.toThrow(
      /the GPU device was lost \(destroyed.*load the model again, or load it with recover: true/,
    );
    model.dispose();
    own.release();
    const fresh = await loadResNet({ source: { safetensors } });
    expect(await fresh.infer(input(5))).toEqual(want);
    fresh.dispose();
  });

  it('with recover: true the next call after a loss runs on a new device with the same results', async () => {
    const model = await loadResNet({ source: { safetensors }, recover: true });
    const want = await model.infer(input(6));
    const first = model.device;
    first.destroy();
    expect(await model.lost).toMatchObject({ reason: 'destroyed' });
    expect(await model.infer(input(6))).toEqual(want);
    expect(model.device).not.toBe(first);
    model.dispose();
  });
});

/** `device` as a device whose storage buffer offsets align to `alignment` bytes (a multiple of its own). */
function withAlignment(device: GPUDevice, alignment: number): GPUDevice {
  const limits = new Proxy(device.limits, {
    get: (target, key) => (key === 'minStorageBufferOffsetAlignment' ? alignment : Reflect.get(target, key)),
  });
  return new Proxy(device, {
    get(target, key) {
      if (key === 'limits') return limits;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('recovery on a device with other limits', () => {
  it("a recovered model plans with the new device's limits (its storage buffer offset alignment), with the same results", async () => {
    const platform = nodePlatform();
    let devices = 0;
    const loaded = { graph: goldenModel(18).graph, format: 'safetensors' as const };
    const model = await createModel(
      loaded,
      { recover: true, convStrategy: 'tiled' },
      {
        ...platform,
        // the second device (the one recovery makes) aligns offsets to 4096 bytes instead of 256
        acquireDevice: async () => {
          const owned = await platform.acquireDevice();
          return ++devices === 1 ? owned : { ...owned, device: withAlignment(owned.device, 4096) };
        },
      },
    );
    try {
      const runner = (model as unknown as { runner: RecoveringExecutor }).runner;
      const want = await model.infer(input(8));
      const first = model.device.limits.minStorageBufferOffsetAlignment;
      expect(first).toBeLessThan(4096);
      expect(runner.now.plans.get(1, INTACT).plan.alignment).toBe(first);
      model.device.destroy();
      await model.lost;
      expect(await model.infer(input(8))).toEqual(want);
      expect(devices).toBe(2);
      const { plan, layout } = runner.now.plans.get(1, INTACT);
      expect(plan.alignment).toBe(4096);
      for (const [id, slot] of layout.slots) expect(slot.offset % 4096, id).toBe(0);
    } finally {
      model.dispose();
    }
  });
});

describe('conv strategy and arenas', () => {
  it("convStrategy 'tiled' runs the GPU kernels on this adapter with the default's results; 'simd' where it cannot run is refused, and a winograd that is not one", async () => {
    const chosen = await loadResNet({ source: { safetensors } });
    const tiled = await loadResNet({ source: { safetensors }, convStrategy: 'tiled' });
    try {
      expect(tiled.info.convStrategy).toBe('tiled');
      console.log(
        `default strategy here: ${chosen.info.convStrategy} (${chosen.info.dispatches} dispatches); tiled: ${tiled.info.dispatches} dispatches`,
      );
      const [a, b] = [
        await chosen.infer(input(7), { output: 'logits' }),
        await tiled.infer(input(7), { output: 'logits' }),
      ];
      let diff = 0,
        scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      expect(diff / scale).toBeLessThan(1e-5);
    } finally {
      chosen.dispose();
      tiled.dispose();
    }
    // a Winograd variant that does not exist is refused by name
    await expect(loadResNet({ source: { safetensors }, winograd: 3 as unknown as 2 })).rejects.toThrow(
      /winograd must be true, false, 2 or 4 .*got 3/,
    );
    // a device without the 'subgroups' feature (a fresh adapter: one hands out one device)
    const noSubgroups = await (await gpu.gpu.requestAdapter())!.requestDevice();
    try {
      await expect(loadResNet({ source: { safetensors }, device: noSubgroups, convStrategy: 'simd' })).rejects.toThrow(
        /convStrategy 'simd' needs a CPU adapter with the 'subgroups' feature/,
      );
    } finally {
      noSubgroups.destroy();
    }
  });

  it('the arenas of at most 4 batch sizes are kept: GPU bytes stay bounded over batches 1..32', async () => {
    const model = await loadResNet({ source: { safetensors }, inputSize: 64 });
    try {
      const report: string[] = [];
      let most = 0;
      for (let batch = 1; batch <= 32; batch++) {
        await model.infer(new Float32Array(batch * 64 * 64 * 3).fill(0.1), { batch });
        most = Math.max(most, model.gpuBytes);
        if (batch % 8 === 0 || batch === 1) report.push(`batch ${batch}: ${(model.gpuBytes / 1e6).toFixed(1)} MB`);
      }
      console.log(`GPU bytes after batches 1..32 (ResNet-18 at 64x64): ${report.join(', ')}`);
      // weights, plus the 4 largest arenas any four batch sizes could hold (each arena, params, and a readback
      // buffer for the largest output: the probabilities or the features)
      const largestOutput = Math.max(model.info.classes, model.info.features) * 4;
      const arenas = [29, 30, 31, 32].reduce((sum, b) => sum + model.arenaBytes(b) + 16 + largestOutput * b, 0);
      expect(most).toBeLessThanOrEqual(model.info.weightBytes + arenas);
      expect(model.gpuBytes).toBeGreaterThan(model.info.weightBytes + model.arenaBytes(32));
    } finally {
      model.dispose();
    }
  });
});

describe('limits', () => {
  it("the device gets the adapter's own limits, not the defaults", () => {
    for (const key of [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
    ] as const) {
      expect(gpu.device.limits[key], key).toBe(gpu.adapter.limits[key]);
    }
  });

  it('a batch too large for one binding runs in chunks, with the results of single runs', async () => {
    // A device with WebGPU's default limits (128 MiB per binding, 256 MiB per buffer), whatever the adapter
    // offers, so that a few dozen images overflow it on any machine; 'subgroups' where the adapter has it
    // (lavapipe's fast conv loop), no 'timestamp-query'.
    // (an adapter hands out one device, so a fresh one from the same GPU object)
    const adapter = await gpu.gpu.requestAdapter();
    if (!adapter) throw new Error('no second adapter');
    const device = await adapter.requestDevice({
      requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [],
    });
    const model = await loadResNet({ source: { safetensors }, device });
    try {
      // ResNet-18's stem output is 112x112x64 floats (3.2 MB) per image
      const max = model.maxBatch();
      const batch = max + Math.ceil(max / 4);
      console.log(
        `${device.limits.maxStorageBufferBindingSize} bytes per binding, ${device.limits.maxBufferSize} per buffer: at most ${max} images per run; batch ${batch} runs in chunks`,
      );
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThan(batch);
      expect(model.maxBatch(batch)).toBe(max);
      const x = new Float32Array(batch * 224 * 224 * 3);
      for (let b = 0; b < batch; b++) x.set(input(b), b * 224 * 224 * 3);
      const all = await model.infer(x, { batch });
      for (const b of [0, max - 1, max, batch - 1]) {
        const one = await model.infer(input(b));
        const got = all.subarray(b * 1000, (b + 1) * 1000);
        let diff = 0;
        for (let i = 0; i < 1000; i++) diff = Math.max(diff, Math.abs(got[i]! - one[i]!));
        expect(diff, `image ${b}`).toBeLessThan(1e-6);
      }
      // a device without 'timestamp-query' (none was asked for here): profiling says so
      await expect(model.profile(1)).rejects.toThrow(GPUUnavailableError);
      await expect(model.profile(1)).rejects.toThrow(/profiling needs the adapter feature 'timestamp-query'/);
    } finally {
      model.dispose();
      device.destroy();
    }
  });
});

/**
 * Property-based tests (fast-check): the conv, max-pool and dense kernels against the TypeScript reference
 * on random shapes, strides and paddings; the loaders on random byte mutations of valid files, where every
 * outcome must be a model or a ModelFormatError (never another exception, never a hang).
 * A failure prints fast-check's seed and the shrunk counterexample.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { GraphBuilder } from '../src/graph/graph.js';
import type { Pads } from '../src/ir/tensor.js';
import { loadFromMemory } from '../src/loaders/formats.js';
import { conv2d, dense, maxPool } from '../src/operators/index.js';
import { defaultModelPath } from '../src/node/paths.js';
import { convLoweringFor } from '../src/operators/conv-algorithm.js';
import { goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { releaseTestDevice, runGraph, testAdapterInfo, testDevice } from './helpers/gpu.js';
import { randomArray, referenceRun, relativeError } from './helpers/reference.js';

afterAll(releaseTestDevice);
const counts: string[] = [];
const messages = new Set<string>();
afterAll(() =>
  console.log(`fuzz runs: ${counts.join(', ')}\nsome of the loader errors:\n${[...messages].slice(0, 12).join('\n')}`),
);

describe('kernels on random shapes', () => {
  it('conv2d: kernel 1-7, stride 1-3, any padding smaller than the kernel, any channels, batch 1-3', async () => {
    const lowering = convLoweringFor(await testDevice(), await testAdapterInfo());
    const numRuns = 14;
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            k: fc.constantFrom(1, 2, 3, 5, 7),
            stride: fc.integer({ min: 1, max: 3 }),
            h: fc.integer({ min: 1, max: 13 }),
            w: fc.integer({ min: 1, max: 13 }),
            cin: fc.integer({ min: 1, max: 24 }),
            cout: fc.integer({ min: 1, max: 40 }),
            batch: fc.integer({ min: 1, max: 3 }),
            pads: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 4, maxLength: 4 }),
            relu: fc.boolean(),
            engineLowering: fc.boolean(),
            seed: fc.nat(),
          })
          .map((c) => ({ ...c, pads: c.pads.map((p) => p % c.k) as Pads }))
          .filter((c) => c.h + c.pads[0] + c.pads[2] >= c.k && c.w + c.pads[1] + c.pads[3] >= c.k),
        async (c) => {
          const x = randomArray(c.batch * c.h * c.w * c.cin, c.seed);
          const weights = randomArray(c.k * c.k * c.cin * c.cout, c.seed + 1, 1 / Math.sqrt(c.k * c.k * c.cin));
          const bias = randomArray(c.cout, c.seed + 2, 0.5);
          const p = {
            kernel: [c.k, c.k] as [number, number],
            strides: [c.stride, c.stride] as [number, number],
            pads: c.pads,
          };
          const b = new GraphBuilder('t', 'x', [c.h, c.w, c.cin]);
          const graph = b.finish(b.add(conv2d('conv', 'x', { weights, bias, filters: c.cout, relu: c.relu, ...p })));
          // the adapter's own lowering (simd on lavapipe) or the GPU one (tiled, split-K), in turn
          const got = await runGraph(graph, x, c.batch, c.engineLowering ? lowering : {});
          expect(relativeError(got, referenceRun(graph, x, c.batch))).toBeLessThan(1e-5);
        },
      ),
      { numRuns },
    );
    counts.push(`conv ${numRuns}`);
  });

  it('max pool: size 1-4, stride 1-3, padding smaller than the size, zero or ignored padding', async () => {
    const numRuns = 12;
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            size: fc.integer({ min: 1, max: 4 }),
            stride: fc.integer({ min: 1, max: 3 }),
            h: fc.integer({ min: 1, max: 14 }),
            w: fc.integer({ min: 1, max: 14 }),
            c: fc.integer({ min: 1, max: 20 }),
            batch: fc.integer({ min: 1, max: 3 }),
            pads: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
            padValue: fc.constantFrom('zero' as const, 'ignore' as const),
            seed: fc.nat(),
          })
          .map((c) => ({ ...c, pads: c.pads.map((p) => p % c.size) as Pads }))
          .filter((c) => c.h + c.pads[0] + c.pads[2] >= c.size && c.w + c.pads[1] + c.pads[3] >= c.size),
        async (c) => {
          const x = randomArray(c.batch * c.h * c.w * c.c, c.seed);
          const p = {
            size: [c.size, c.size] as [number, number],
            strides: [c.stride, c.stride] as [number, number],
            pads: c.pads,
            padValue: c.padValue,
          };
          const b = new GraphBuilder('t', 'x', [c.h, c.w, c.c]);
          const graph = b.finish(b.add(maxPool('pool', 'x', p)));
          const got = await runGraph(graph, x, c.batch);
          expect(relativeError(got, referenceRun(graph, x, c.batch))).toBe(0);
        },
      ),
      { numRuns },
    );
    counts.push(`max pool ${numRuns}`);
  });

  it('dense: any input and output sizes, batch 1-4, with and without ReLU', async () => {
    const numRuns = 10;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          inF: fc.integer({ min: 1, max: 300 }),
          units: fc.integer({ min: 1, max: 90 }),
          batch: fc.integer({ min: 1, max: 4 }),
          relu: fc.boolean(),
          seed: fc.nat(),
        }),
        async (c) => {
          const x = randomArray(c.batch * c.inF, c.seed);
          const weights = randomArray(c.inF * c.units, c.seed + 1, 1 / Math.sqrt(c.inF));
          const bias = randomArray(c.units, c.seed + 2, 0.1);
          const b = new GraphBuilder('t', 'x', [1, 1, c.inF]);
          const graph = b.finish(b.add(dense('fc', 'x', { weights, bias, units: c.units, relu: c.relu })));
          const got = await runGraph(graph, x, c.batch);
          expect(relativeError(got, referenceRun(graph, x, c.batch))).toBeLessThan(1e-5);
        },
      ),
      { numRuns },
    );
    counts.push(`dense ${numRuns}`);
  });
});

/** Loads `source`; the outcome must be a graph or a ModelFormatError. Returns which. */
async function outcome(source: Parameters<typeof loadFromMemory>[0]): Promise<'model' | 'error'> {
  try {
    const { graph } = await loadFromMemory(source);
    expect(graph.nodes.length).toBeGreaterThan(10);
    return 'model';
  } catch (err) {
    if (!(err instanceof ModelFormatError))
      throw new Error(`not a ModelFormatError: ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
    expect((err as Error).message.length).toBeGreaterThan(10);
    messages.add((err as Error).message.slice(0, 140));
    return 'error';
  }
}

/** Byte mutations: a few bytes overwritten (biased to the first `hot` bytes, where the structure is), or a truncation. */
const mutation = (length: number, hot: number) =>
  fc.oneof(
    fc.record({
      kind: fc.constant('bytes' as const),
      at: fc.array(fc.oneof(fc.integer({ min: 0, max: hot - 1 }), fc.integer({ min: 0, max: length - 1 })), {
        minLength: 1,
        maxLength: 6,
      }),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      kind: fc.constant('truncate' as const),
      at: fc.array(fc.integer({ min: 0, max: length - 1 }), { minLength: 1, maxLength: 1 }),
      value: fc.constant(0),
    }),
  );
function mutate(bytes: Uint8Array, m: { kind: 'bytes' | 'truncate'; at: number[]; value: number }): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at[0]);
  const out = bytes.slice();
  for (const [i, at] of m.at.entries()) out[at] = (m.value + 37 * i) & 255;
  return out;
}

describe('loaders on mutated files', () => {
  const r18 = goldenModel(18);

  it('safetensors', async () => {
    const good = writeSafetensors(r18.params);
    const header = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
    const seen = { model: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(mutation(good.length, header), async (m) => {
        seen[await outcome({ safetensors: mutate(good, m) })]++;
      }),
      { numRuns: 40 },
    );
    counts.push(`safetensors 40 (${seen.model} models, ${seen.error} errors)`);
    expect(seen.error).toBeGreaterThan(0);
  });

  it('ONNX', async () => {
    const good = graphToOnnx(r18.graph, { softmax: false });
    const seen = { model: 0, error: 0 };
    // the graph (nodes, attributes) is written before the initializers' raw data: mutate the start and anywhere
    await fc.assert(
      fc.asyncProperty(mutation(good.length, 20000), async (m) => {
        seen[await outcome({ onnx: mutate(good, m) })]++;
      }),
      { numRuns: 40 },
    );
    counts.push(`onnx 40 (${seen.model} models, ${seen.error} errors)`);
    expect(seen.error).toBeGreaterThan(0);
  });

  it('TF.js layers model.json', async () => {
    const path = defaultModelPath();
    const text = new TextEncoder().encode(await readFile(path, 'utf8'));
    const json = JSON.parse(new TextDecoder().decode(text));
    const weights: Record<string, Uint8Array> = {};
    for (const p of json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths))
      weights[p] = new Uint8Array(await readFile(join(dirname(path), p)));
    const seen = { model: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(mutation(text.length, text.length), async (m) => {
        seen[await outcome({ modelJson: new TextDecoder().decode(mutate(text, m)), weights })]++;
      }),
      { numRuns: 15 },
    );
    counts.push(`model.json 15 (${seen.model} models, ${seen.error} errors)`);
    expect(seen.error).toBeGreaterThan(0);
  });
});

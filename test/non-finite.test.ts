/**
 * Nothing silently wrong: a NaN or infinity in any weight, bias, scale or BatchNorm statistic is refused
 * at load by every loader (safetensors, ONNX, TF.js layers) with a ModelFormatError naming the tensor, and
 * an inference whose output is not finite is a NonFiniteOutputError, never a printed NaN.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenModel } from '../scripts/golden-model.js';
import { GraphError, ModelFormatError, NonFiniteOutputError } from '../src/errors.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { writeSafetensors, type TensorToWrite } from '../src/export/safetensors.js';
import { GraphBuilder } from '../src/graph/graph.js';
import { loadFromMemory } from '../src/loaders/formats.js';
import { batchNorm } from '../src/operators/index.js';
import { loadOnnxResNet } from '../src/loaders/onnx.js';
import { loadSafetensorsResNet } from '../src/loaders/safetensors.js';
import { loadResNet } from '../src/node.js';
import { defaultModelPath, packageRoot } from '../src/node/paths.js';
import { floatToHalf } from '../src/util/half.js';
import { ourLines, runCli } from './helpers/processes.js';

const zebra = join(packageRoot(), 'demo', 'samples', '340_n02391049_zebra.JPEG');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-nonfinite-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** ResNet-18's generated parameters with `edit` applied to copies of the named ones. */
function r18With(edits: Record<string, (data: Float32Array) => void>): TensorToWrite[] {
  return goldenModel(18).params.map((p) => {
    const data = Float32Array.from(p.data);
    edits[p.name]?.(data);
    return { name: p.name, shape: p.shape, data };
  });
}

const refusal = (load: () => unknown): Error => {
  try {
    load();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the load was not refused');
};

describe('non-finite weights are refused at load, naming the tensor', () => {
  it('safetensors: NaN in fc.bias, Inf in a conv weight, -Inf in a BatchNorm variance, an f16 infinity', () => {
    const cases: Array<[Record<string, (d: Float32Array) => void>, RegExp]> = [
      [
        {
          'fc.bias': (d) => {
            d[3] = NaN;
          },
        },
        /^memory: tensor fc\.bias holds NaN at index 3 of 1000; every weight must be finite/,
      ],
      [
        {
          'layer2.0.conv1.weight': (d) => {
            d[100] = Infinity;
          },
        },
        /tensor layer2\.0\.conv1\.weight holds Infinity at index 100 of 73728/,
      ],
      [
        {
          'layer3.1.bn2.running_var': (d) => {
            d[0] = -Infinity;
          },
        },
        /tensor layer3\.1\.bn2\.running_var holds -Infinity at index 0 of 256/,
      ],
    ];
    for (const [edit, message] of cases) {
      const err = refusal(() => loadSafetensorsResNet(writeSafetensors(r18With(edit)), 'memory'));
      expect(err).toBeInstanceOf(ModelFormatError);
      expect(err.message).toMatch(message);
    }
    const halves = r18With({}).map((t) => ({ ...t, data: Uint16Array.from(t.data as Float32Array, floatToHalf) }));
    halves.find((t) => t.name === 'layer4.1.conv2.weight')!.data[7] = 0x7c00; // +Inf in binary16
    expect(refusal(() => loadSafetensorsResNet(writeSafetensors(halves), 'memory')).message).toMatch(
      /tensor layer4\.1\.conv2\.weight holds Infinity at index 7/,
    );
  });

  it('ONNX: NaN in a BatchNorm mean, Inf in the classifier weights', () => {
    for (const [node, field, tensor] of [
      ['layer1.0.bn1', 'mean', 'running_mean'],
      ['fc', 'weights', 'weight'],
    ] as const) {
      const { graph } = goldenModel(18);
      const n = graph.nodes.find((x) => x.name === node) as unknown as Record<string, Float32Array>;
      n[field]![5] = field === 'mean' ? NaN : -Infinity;
      const err = refusal(() => loadOnnxResNet(graphToOnnx(graph, { softmax: false }), 'memory:onnx'));
      expect(err).toBeInstanceOf(ModelFormatError);
      expect(err.message).toMatch(
        new RegExp(`^memory:onnx: tensor ${node.replace('.', '\\.')}\\.${tensor} holds (NaN|-Infinity) at index \\d+`),
      );
    }
  });

  it('TF.js layers: a NaN written into a shard names the Keras weight it lands in', async () => {
    const modelJson = JSON.parse(await readFile(defaultModelPath(), 'utf8'));
    const weights: Record<string, Uint8Array> = {};
    for (const p of modelJson.weightsManifest[0].paths as string[])
      weights[p] = new Uint8Array(await readFile(join(dirname(defaultModelPath()), p)));
    // the 10th float of the 4th weight in the manifest (all float32 in this model): a BatchNorm moving variance
    const specs = modelJson.weightsManifest[0].weights as Array<{ name: string; shape: number[] }>;
    expect(specs[3]!.name).toMatch(/moving_variance$/);
    const offset = 4 * (specs.slice(0, 3).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0) + 9);
    const shard = weights['group1-shard1of25.bin']!.slice();
    new DataView(shard.buffer).setFloat32(offset, NaN, true);
    const err = await loadFromMemory({ modelJson, weights: { ...weights, 'group1-shard1of25.bin': shard } }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toBe(
      `memory:model.json: tensor ${specs[3]!.name} holds NaN at index 9 of ${specs[3]!.shape.reduce((a, b) => a * b, 1)}; every weight must be finite (the file is damaged, or was saved from a model whose training diverged)`,
    );
  });

  it('a BatchNorm whose variance plus epsilon is not positive (it would divide by zero or take a negative root)', () => {
    const b = new GraphBuilder('bn', 'x', [4, 4, 2]);
    expect(() =>
      b.add(
        batchNorm('bn1', b.input, { mean: new Float32Array(2), variance: Float32Array.of(1, -0.5), epsilon: 1e-3 }),
      ),
    ).toThrow(
      new GraphError('bn1: moving variance -0.5 of channel 1 plus epsilon 0.001 must be > 0 (it divides the input)'),
    );
  });

  it('the CLI: exit 1 with one line naming the tensor, no NaN printed', async () => {
    const file = join(work, 'nan.safetensors');
    await writeFile(
      file,
      writeSafetensors(
        r18With({
          'fc.bias': (d) => {
            d[0] = NaN;
          },
          'conv1.weight': (d) => {
            d[1] = Infinity;
          },
        }),
      ),
    );
    const ran = await runCli(['classify', zebra, '--weights', file]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).not.toMatch(/NaN/);
    expect(ourLines(ran.stderr)).toEqual([
      expect.stringMatching(
        /^webgpu-resnet: error: \S+nan\.safetensors: tensor (conv1\.weight holds Infinity at index 1|fc\.bias holds NaN at index 0) of \d+; every weight must be finite/,
      ),
    ]);
  });
});

describe('an output that is not finite is an error', () => {
  it('finite weights that overflow float32: probabilities and logits refused, the features (finite) returned', async () => {
    const huge = r18With({ 'fc.weight': (d) => d.fill(3e38) });
    const model = await loadResNet({ source: { safetensors: writeSafetensors(huge) } });
    try {
      const input = new Float32Array(224 * 224 * 3).map((_, i) => Math.sin(i));
      for (const output of ['probabilities', 'logits'] as const) {
        const err = await model.infer(input, { output }).catch((e: unknown) => e as Error);
        expect(err).toBeInstanceOf(NonFiniteOutputError);
        expect((err as Error).message).toMatch(
          new RegExp(
            `^the ${output} of image 0 are not finite \\(value \\d+ is (NaN|-?Infinity)\\): the network overflowed float32`,
          ),
        );
      }
      const err = await model.classify(zebra).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(NonFiniteOutputError);
      const batch = await model
        .infer(new Float32Array(2 * 224 * 224 * 3).fill(0.5), { batch: 2, output: 'logits' })
        .catch((e: unknown) => e as Error);
      expect((batch as Error).message).toMatch(/^the logits of image 0 are not finite/);
      const features = await model.infer(input, { output: 'features' });
      expect(features.every(Number.isFinite)).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

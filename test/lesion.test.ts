/**
 * Residual-block lesions (skipBlocks) and embeddings (output 'features'), on torchvision ResNet-18 and
 * ResNet-50 with the golden generator's weights. The reference is onnxruntime running the raw graph with
 * the lesion made by hand the way the paper defines it: the block's final ReLU reads the shortcut instead
 * of F(x) + shortcut (y = relu(x) = x for an identity shortcut, relu(proj(x)) for a projection).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residualBlocks, skipBlocks } from '../src/graph/blocks.js';
import type { Graph } from '../src/graph/graph.js';
import { optimize } from '../src/graph/passes.js';
import { cosineSimilarity, type ResNetModel } from '../src/index.js';
import { InputError } from '../src/errors.js';
import { loadResNet, type NodeImage } from '../src/node.js';
import { planGraph } from '../src/plan/planner.js';
import { goldenInput, goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { relativeError } from './helpers/reference.js';
import { lesionRaw, ortRun } from './helpers/onnx.js';
import { groupProfile } from '../demo/profile.js';

/** onnxruntime on `graph` (NCHW input): the logits, or with `features`, the global average pool's output. */
const ortLesion = (graph: Graph, input: Float32Array, batch: number, features = false) =>
  ortRun(graph, input, { batch, output: features ? 'avgpool' : undefined });

const models = new Map<number, { model: ResNetModel<NodeImage>; raw: Graph }>();
const input = goldenInput(); // [2, 3, 224, 224]
const report: string[] = [];

beforeAll(async () => {
  for (const depth of [18, 50]) {
    const { params, graph } = goldenModel(depth);
    models.set(depth, { model: await loadResNet({ source: { safetensors: writeSafetensors(params) } }), raw: graph });
  }
});
afterAll(() => {
  for (const { model } of models.values()) model.dispose();
  if (report.length)
    console.log(
      `\n| network | deleted blocks | max rel. logit error vs onnxruntime | top-1 (2 inputs) |\n| --- | --- | --- | --- |\n${report.join('\n')}`,
    );
});

describe('residual blocks found from the graph', () => {
  it('ResNet-18: 8 blocks, projections where the shape changes; ResNet-50: 16, layer1.0 a projection too', () => {
    const r18 = models.get(18)!.model.blocks;
    expect(r18.map((b) => b.name)).toEqual([
      'layer1.0',
      'layer1.1',
      'layer2.0',
      'layer2.1',
      'layer3.0',
      'layer3.1',
      'layer4.0',
      'layer4.1',
    ]);
    expect(r18.filter((b) => b.projection).map((b) => b.name)).toEqual(['layer2.0', 'layer3.0', 'layer4.0']);
    expect(r18[4]).toMatchObject({
      stage: 3,
      index: 0,
      inputShape: [28, 28, 128],
      outputShape: [14, 14, 256],
      layers: ['layer3.0.conv1', 'layer3.0.conv2'],
    });
    const r50 = models.get(50)!.model.blocks;
    expect(r50.map((b) => b.name).join(' ')).toBe(
      'layer1.0 layer1.1 layer1.2 layer2.0 layer2.1 layer2.2 layer2.3 layer3.0 layer3.1 layer3.2 layer3.3 layer3.4 layer3.5 layer4.0 layer4.1 layer4.2',
    );
    expect(r50.filter((b) => b.projection).map((b) => b.name)).toEqual([
      'layer1.0',
      'layer2.0',
      'layer3.0',
      'layer4.0',
    ]);
    expect(r50[9]!.layers).toEqual(['layer3.2.conv1', 'layer3.2.conv2', 'layer3.2.conv3']);
  });

  it('a lesioned plan only drops dispatches: no new kernel, no extra pass, arena no larger', () => {
    const { raw } = models.get(50)!;
    const { graph } = optimize(raw);
    const blocks = residualBlocks(graph);
    const intact = planGraph(graph);
    // layer3.2's 3x3 conv runs as Winograd: three kernels, all dropped with the block
    expect(intact.steps.filter((s) => s.layer === 'layer3.2.conv2').map((s) => s.label)).toEqual([
      'layer3.2.conv2/winograd in',
      'layer3.2.conv2',
      'layer3.2.conv2/winograd out',
    ]);
    for (const names of [['layer3.2'], ['layer2.0'], ['layer1.1', 'layer1.2', 'layer4.0']]) {
      const plan = planGraph(skipBlocks(graph, blocks, names));
      // exactly the deleted blocks' branch convs are gone, with all their kernels (a split-K sum, Winograd
      // transforms); a projection conv stays, with the block's ReLU
      const removed = new Set(blocks.filter((b) => names.includes(b.name)).flatMap((b) => b.layers));
      const kept = (s: { layer?: string }) => !removed.has(s.layer!);
      expect(new Set(plan.steps.map((s) => s.label)), names.join()).toEqual(
        new Set(intact.steps.filter(kept).map((s) => s.label)),
      );
      expect(plan.steps.length, names.join()).toBe(intact.steps.filter(kept).length);
      expect(plan.tensors.length).toBeLessThan(intact.tensors.length);
    }
    // the original graph is untouched
    expect(planGraph(graph).steps.map((s) => s.shader.code())).toEqual(intact.steps.map((s) => s.shader.code()));
  });
});

describe('skipBlocks against onnxruntime', () => {
  const cases: Array<[number, string[]]> = [
    [18, ['layer1.1']],
    [18, ['layer3.0']],
    [18, ['layer1.0', 'layer2.0', 'layer2.1', 'layer4.1']],
    [50, ['layer1.0']],
    [50, ['layer3.2', 'layer4.0']],
    [50, ['layer1.2', 'layer2.0', 'layer2.3', 'layer3.0', 'layer3.5', 'layer4.2']],
  ];
  for (const [depth, names] of cases) {
    it(`resnet${depth} without ${names.join(', ')}`, async () => {
      const { model, raw } = models.get(depth)!;
      const want = await ortLesion(lesionRaw(raw, names), input, 2);
      const got = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits', skipBlocks: names });
      const error = relativeError(got, want);
      const top1 = [0, 1].map((b) => model.top(got.subarray(b * 1000, (b + 1) * 1000), 1)[0]!.index);
      const wantTop1 = [0, 1].map((b) => model.top(want.subarray(b * 1000, (b + 1) * 1000), 1)[0]!.index);
      report.push(
        `| resnet${depth} | ${names.join(', ')} | ${error.toExponential(2)} | ${top1.join(', ')} (onnxruntime ${wantTop1.join(', ')}) |`,
      );
      expect(error).toBeLessThanOrEqual(1e-4);
      expect(top1).toEqual(wantTop1);
      // and the lesion does change the network
      const intact = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' });
      expect(relativeError(got, intact)).toBeGreaterThan(1e-3);
    });
  }

  it('names in any order and repeated give the same plan and result; arenas of the 4 latest sets are kept; the intact network is unchanged', async () => {
    const { params } = goldenModel(18);
    const model = await loadResNet({ source: { safetensors: writeSafetensors(params) } });
    try {
      const one = input.subarray(0, 3 * 224 * 224);
      const intact = await model.infer(one, { layout: 'nchw', output: 'logits' });
      const bytes = model.gpuBytes;
      const a = await model.infer(one, { layout: 'nchw', skipBlocks: ['layer2.1', 'layer1.0'] });
      const withA = model.gpuBytes;
      // one arena, params and readback for the new set
      expect(withA).toBe(bytes + model.arenaBytes(1, { skipBlocks: ['layer1.0', 'layer2.1'] }) + 16 + 4000);
      const b = await model.infer(one, { layout: 'nchw', skipBlocks: ['layer1.0', 'layer2.1', 'layer1.0'] });
      expect(b).toEqual(a);
      expect(model.gpuBytes).toBe(withA);
      // eight more sets: only the latest four keep their buffers
      const names = model.blocks.map((x) => x.name);
      for (const name of names) await model.infer(one, { layout: 'nchw', skipBlocks: [name] });
      const kept = names
        .slice(-4)
        .reduce((sum, name) => sum + model.arenaBytes(1, { skipBlocks: [name] }) + 16 + 4000, 0);
      expect(model.gpuBytes).toBe(bytes + kept);
      expect(await model.infer(one, { layout: 'nchw', output: 'logits' })).toEqual(intact);
      expect(await model.infer(one, { layout: 'nchw', skipBlocks: [], output: 'logits' })).toEqual(intact);
    } finally {
      model.dispose();
    }
  });

  it('a profile of a lesioned network, summed per block as the demo draws it: stem, 8 blocks, head; deleted blocks take no time', async () => {
    const { model } = models.get(18)!;
    const skipped = ['layer2.0', 'layer3.1'];
    const steps = await model.profile(1, { skipBlocks: skipped });
    const groups = groupProfile(steps, model.blocks, skipped);
    expect(groups.map((g) => g.name)).toEqual(['stem', ...model.blocks.map((b) => b.name), 'head']);
    expect(groups.reduce((s, g) => s + g.dispatches.length, 0)).toBe(steps.length);
    expect(groups.find((g) => g.name === 'layer3.1')).toMatchObject({ ms: 0, dispatches: [], deleted: true });
    // layer2.0 keeps its projection conv, with the block's ReLU
    expect(groups.find((g) => g.name === 'layer2.0')).toMatchObject({
      dispatches: ['layer2.0.downsample.0'],
      deleted: true,
    });
    expect(groups[0]!.dispatches).toEqual(['conv1', 'maxpool']);
    expect(groups.at(-1)!.dispatches).toEqual(['avgpool', 'fc', 'softmax']);
    for (const g of groups) if (g.dispatches.length) expect(g.ms, g.name).toBeGreaterThan(0);
  });

  it('unknown names are a clear InputError and the model still works', async () => {
    const { model } = models.get(18)!;
    const one = input.subarray(0, 3 * 224 * 224);
    const before = await model.infer(one, { layout: 'nchw' });
    await expect(model.infer(one, { layout: 'nchw', skipBlocks: ['layer3.2'] })).rejects.toThrow(InputError);
    await expect(model.infer(one, { layout: 'nchw', skipBlocks: ['layer3.2', 'res4c'] })).rejects.toThrow(
      'unknown residual blocks "layer3.2", "res4c": this resnet18 has layer1.0..layer1.1, layer2.0..layer2.1, layer3.0..layer3.1, layer4.0..layer4.1',
    );
    await expect(model.infer(one, { layout: 'nchw', skipBlocks: 'layer1.0' as unknown as string[] })).rejects.toThrow(
      /skipBlocks must be an array of block names/,
    );
    await expect(model.profile(1, { skipBlocks: ['layer0.0'] })).rejects.toThrow(/unknown residual block "layer0.0"/);
    expect(() => model.maxBatch(8, { skipBlocks: ['x'] })).toThrow(InputError);
    expect(await model.infer(one, { layout: 'nchw' })).toEqual(before);
  });
});

describe('features (embeddings) against onnxruntime', () => {
  for (const depth of [18, 50]) {
    it(`resnet${depth}: output 'features' is the global average pool (${depth === 18 ? 512 : 2048} values), intact and lesioned`, async () => {
      const { model, raw } = models.get(depth)!;
      expect(model.info.features).toBe(depth === 18 ? 512 : 2048);
      for (const names of [[], ['layer2.1', 'layer4.0']]) {
        const want = await ortLesion(lesionRaw(raw, names), input, 2, true);
        expect(want.length).toBe(2 * model.info.features);
        const got = await model.infer(input, { batch: 2, layout: 'nchw', output: 'features', skipBlocks: names });
        expect(got.length).toBe(2 * model.info.features);
        const error = relativeError(got, want);
        report.push(`| resnet${depth} features | ${names.join(', ') || '(none)'} | ${error.toExponential(2)} | |`);
        expect(error).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it('cosineSimilarity', () => {
    expect(cosineSimilarity([1, 0], [0, 3])).toBe(0);
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 2], [-1, -2])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/vectors of 1 and 2 values/);
  });
});

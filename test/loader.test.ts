/** The TF.js layers loader on the real pretrained files and on broken copies of them (no GPU needed). */
import { copyFile, mkdtemp, readFile, rm, symlink, readdir, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { optimize } from '../src/graph/passes.js';
import { loadTfjsLayersModel } from '../src/loaders/tfjs-layers.js';
import { memorySource } from '../src/loaders/source.js';
import { folderSource } from '../src/node/files.js';
import { defaultModelPath } from '../src/node/paths.js';

const modelDir = dirname(defaultModelPath());
let work: string;

/** A copy of the model folder: model.json copied (editable), shards linked unless `copyShards`. */
async function modelCopy(name: string, copyShards: string[] = []): Promise<string> {
  const dir = join(work, name);
  await (await import('node:fs/promises')).mkdir(dir);
  for (const f of await readdir(modelDir)) {
    if (f === 'model.json' || copyShards.includes(f)) await copyFile(join(modelDir, f), join(dir, f));
    else await symlink(join(modelDir, f), join(dir, f));
  }
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-loader-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('TF.js layers loader', () => {
  it('loads the pretrained Keras ResNet-50 into the IR and folds it', async () => {
    const seen: number[] = [];
    const graph = await loadTfjsLayersModel(folderSource(modelDir), 'model.json', (p) =>
      seen.push(p.loadedBytes / p.totalBytes),
    );
    expect(seen.at(-1)).toBe(1);
    expect(graph.shapes.get(graph.input)).toEqual([224, 224, 3]);
    expect(graph.shapes.get(graph.output)).toEqual([1, 1, 1000]);
    const counts = (g: typeof graph) =>
      g.nodes.reduce<Record<string, number>>((acc, n) => {
        acc[n.op] = (acc[n.op] ?? 0) + 1;
        return acc;
      }, {});
    expect(counts(graph)).toMatchObject({
      conv2d: 53,
      batchnorm: 53,
      relu: 49,
      add: 16,
      pad: 2,
      maxpool: 1,
      globalavgpool: 1,
      dense: 1,
      softmax: 1,
    });
    const { graph: optimized, report } = optimize(graph);
    expect(report).toEqual({
      batchNormsFolded: 53,
      paddingsFolded: 2,
      relusFused: 49,
      residualsFused: 16,
      preactivationsFused: 0,
    });
    expect(counts(optimized)).toEqual({ conv2d: 53, maxpool: 1, globalavgpool: 1, dense: 1, softmax: 1 });
    // the passes return a new graph: the loaded one is as it was
    expect(counts(graph)).toMatchObject({
      conv2d: 53,
      batchnorm: 53,
      relu: 49,
      add: 16,
      pad: 2,
      maxpool: 1,
      globalavgpool: 1,
      dense: 1,
      softmax: 1,
    });
    expect(graph.nodes.find((n) => n.name === 'conv1')).toMatchObject({ pads: [0, 0, 0, 0], relu: false });
    const stem = optimized.nodes.find((n) => n.name === 'conv1');
    expect(stem).toMatchObject({ op: 'conv2d', pads: [3, 3, 3, 3], strides: [2, 2], relu: true });
    const pool = optimized.nodes.find((n) => n.op === 'maxpool');
    expect(pool).toMatchObject({ pads: [1, 1, 1, 1], padValue: 'zero' });
    // every block's last conv carries the residual add and the ReLU
    const fused = optimized.nodes.filter((n) => n.op === 'conv2d' && n.residual !== undefined);
    expect(fused.map((n) => n.name).sort()).toEqual(
      ['2a', '2b', '2c', '3a', '3b', '3c', '3d', '4a', '4b', '4c', '4d', '4e', '4f', '5a', '5b', '5c']
        .map((b) => `res${b}_branch2c`)
        .sort(),
    );
  });

  it('folds BatchNormalization exactly: conv + BN in float64 equals the folded conv', async () => {
    const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    const graph = await loadTfjsLayersModel(folderSource(modelDir));
    const conv = graph.nodes.find((n) => n.name === 'conv1')!;
    const bn = graph.nodes.find((n) => n.name === 'bn_conv1')!;
    if (conv.op !== 'conv2d' || bn.op !== 'batchnorm') throw new Error('unexpected graph');
    expect(bn.epsilon).toBe(
      json.modelTopology.model_config.config.layers.find((l: { name: string }) => l.name === 'bn_conv1').config.epsilon,
    );
    const w = Float64Array.from(conv.weights),
      b = Float64Array.from(conv.bias);
    const folded = optimize(graph).graph.nodes.find((n) => n.name === 'conv1')!;
    if (folded.op !== 'conv2d') throw new Error('unexpected graph');
    const c = 64;
    for (const i of [0, 1, 63, 64, 1000, w.length - 1]) {
      const ch = i % c;
      const scale = bn.gamma[ch]! / Math.sqrt(bn.variance[ch]! + bn.epsilon);
      expect(folded.weights[i]).toBeCloseTo(w[i]! * scale, 6);
    }
    for (const ch of [0, 17, 63]) {
      const scale = bn.gamma[ch]! / Math.sqrt(bn.variance[ch]! + bn.epsilon);
      expect(folded.bias[ch]).toBeCloseTo((b[ch]! - bn.mean[ch]!) * scale + bn.beta[ch]!, 5);
    }
    expect(conv.weights).toEqual(Float32Array.from(w)); // the loaded conv keeps its own weights
  });

  it.each([
    [
      'the last shard truncated',
      'group1-shard25of25.bin',
      1000,
      /group1-shard25of25\.bin is 1000 bytes, expected 1883552 \(truncated; weight group 1 is \d+ bytes in 25 shards, its manifest describes 102\d+\); copy or download the model files again$/,
    ],
    [
      'a middle shard truncated',
      'group1-shard3of25.bin',
      4000000,
      /group1-shard3of25\.bin is 4000000 bytes, expected 4194304 \(truncated;/,
    ],
    [
      'a shard too long',
      'group1-shard3of25.bin',
      4194305,
      /group1-shard3of25\.bin is 4194305 bytes, expected 4194304 \(too long;/,
    ],
  ])('%s: one short line naming the shard, expected and actual bytes', async (_, shard, bytes, message) => {
    const dir = await modelCopy(`wrong-size-${bytes}`, [shard]);
    await truncate(join(dir, shard), bytes);
    const err = (await loadTfjsLayersModel(folderSource(dir)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(message);
    expect(err.message.length).toBeLessThan(dir.length + 250);
  });

  it('a weight the topology needs that the manifest lacks is refused with its name (the other file errors: test/bad-inputs.test.ts)', async () => {
    const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    const shards: Record<string, Uint8Array> = {};
    for (const p of json.weightsManifest[0].paths) shards[p] = new Uint8Array(await readFile(join(modelDir, p)));
    const renamed = structuredClone(json);
    renamed.weightsManifest[0].weights[0].name = 'something/else';
    await expect(
      loadTfjsLayersModel(memorySource({ ...shards, 'model.json': JSON.stringify(renamed) })),
    ).rejects.toThrow(/tensor bn2a_branch1\/gamma is not in the weights manifest/);
  });
});

describe('model sources', () => {
  it("a folder's config.json is a hub's only when it says so: anything else leaves the folder to model.json", async () => {
    const { folderConfig } = await import('../src/loaders/model-folder.js');
    const folder = (config: string) => memorySource({ 'config.json': config, 'model.json': '{}' });
    expect(await folderConfig(folder('{"model_type": "resnet", "id2label": {}}'))).toMatchObject({
      model_type: 'resnet',
    });
    expect(await folderConfig(folder('{"architecture": "resnet50d", "pretrained_cfg": {}}'))).toBeDefined();
    expect(await folderConfig(folder('{"learning_rate": 0.1}'))).toBeUndefined();
    expect(await folderConfig(folder('<!doctype html><title>app</title>'))).toBeUndefined();
    expect(await folderConfig(memorySource({ 'model.json': '{}' }))).toBeUndefined();
  });

  it("a timm folder of an anti-aliased ResNet (no weights of its own to show it) is refused by config.json's name", async () => {
    const { loadModelFolder } = await import('../src/loaders/model-folder.js');
    const folder = (architecture: string) =>
      loadModelFolder(memorySource({ 'config.json': '{}' }, 'hub'), { architecture, pretrained_cfg: {} }, {});
    await expect(folder('resnetblur18')).rejects.toThrow(
      'hub:config.json: architecture resnetblur18 anti-aliases its strided convs with a blur pool (BlurPool2d), ' +
        "which has no weights (the state_dict reads as a plain ResNet's) and which this engine does not run",
    );
    await expect(folder('timm/seresnextaa101d_32x8d.sw_in12k_ft_in1k')).rejects.toThrow(
      /architecture timm\/seresnextaa101d_32x8d\.sw_in12k_ft_in1k anti-aliases its strided convs with an average pool/,
    );
    // a plain one goes on to its weights
    await expect(folder('resnet50d')).rejects.toThrow(/hub:model\.safetensors: missing/);
  });

  it('loads model.json and shards over HTTP (a 404 and a cut-short file: test/bad-inputs.test.ts)', async () => {
    const { createServer } = await import('node:http');
    const { loadFromUrl } = await import('../src/loaders/url-model.js');
    const server = createServer(async (req, res) => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      try {
        const data = await readFile(join(modelDir, path.replace(/^\/model\//, '')));
        res.writeHead(200, { 'content-length': String(data.length) });
        res.end(data);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const { graph } = await loadFromUrl(`http://127.0.0.1:${port}/model/model.json`);
      expect(graph.nodes.length).toBeGreaterThan(170);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('loads from memory', async () => {
    const { loadFromMemory } = await import('../src/loaders/formats.js');
    const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    const weights: Record<string, Uint8Array> = {};
    for (const p of json.weightsManifest[0].paths) weights[p] = new Uint8Array(await readFile(join(modelDir, p)));
    const { graph } = await loadFromMemory({ modelJson: json, weights });
    expect(graph.shapes.get(graph.output)).toEqual([1, 1, 1000]);
  });
});

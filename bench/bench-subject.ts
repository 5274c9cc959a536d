/** The network `npm run bench` compares (bench/bench.ts): its weight files for the engine and its peers. */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generate, goldenModel } from '../scripts/golden-model.js';
import { kerasResNetV2, savedInMemory } from '../scripts/keras-resnet-v2.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import type { InMemoryModel, InMemorySafetensors } from '../src/loaders/formats.js';
import { defaultModelPath } from '../src/node.js';
import { type Args, FAMILY } from './bench-args.js';
import { randomWeights } from './random-weights.js';

/** The network to compare: the weight files (the engine loads them; the ONNX export for ORT is made from the graph it loaded), and the tfjs files. */
export interface Subject {
  description: string;
  weights: string;
  source: InMemoryModel | InMemorySafetensors;
  keras?: InMemoryModel;
}

export async function subject(args: Args): Promise<Subject> {
  if (args.model === 'resnet50') {
    const path = args.weights || defaultModelPath();
    const json = JSON.parse(await readFile(path, 'utf8'));
    let files: InMemoryModel;
    if (args.random) files = randomWeights(json);
    else {
      const weights: Record<string, Uint8Array> = {};
      for (const p of json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths))
        weights[p] = new Uint8Array(await readFile(join(dirname(path), p)));
      files = { modelJson: json, weights };
    }
    return {
      description: 'ResNet-50 (Keras topology)',
      weights: args.random ? 'random' : 'pretrained',
      source: files,
      keras: files,
    };
  }
  if (args.model === 'keras-resnet50v2') {
    const files = await savedInMemory(kerasResNetV2(50, args.inputSize, 1000));
    return {
      description: 'ResNet50V2 (Keras topology)',
      weights: 'synthetic (golden generator)',
      source: files,
      keras: files,
    };
  }
  if (args.model.startsWith('pt-')) {
    const names = FAMILY[args.model.slice(3)]!;
    const last = names.some(([n]) => n.endsWith('.conv3.weight')) ? '.bn3.' : '.bn2.';
    const params = names.map(([name, shape]) => ({
      name,
      shape,
      data: generate(name, shape, name.startsWith('layer') && name.includes(last)),
    }));
    return {
      description: `${args.model.slice(3)} (torchvision / timm state_dict)`,
      weights: 'synthetic (golden generator)',
      source: { safetensors: writeSafetensors(params, { format: 'pt' }) },
    };
  }
  const depth = Number(args.model.slice('resnet'.length));
  const { params } = goldenModel(depth);
  return {
    description: `ResNet-${depth} (torchvision topology)`,
    weights: 'synthetic (golden generator)',
    source: { safetensors: writeSafetensors(params, { format: 'pt' }) },
  };
}

/**
 * A Hugging Face transformers model folder made from a family fixture's network (test/fixtures/
 * family-golden.json): config.json, model.safetensors in transformers' names (modeling_resnet.py's
 * modules), preprocessor_config.json asking for bicubic resizing; for the folder tests in Node and the demo.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from '../../scripts/golden-model.js';
import { writeSafetensors } from '../../src/export/safetensors.js';

/** transformers' ResNetForImageClassification name of a torchvision one (modeling_resnet.py's modules). */
export function transformersName(name: string): string {
  const block = /^layer(\d)\.(\d+)\.(.*)$/.exec(name);
  if (!block) {
    if (name.startsWith('conv1.')) return `resnet.embedder.embedder.convolution.${name.slice(6)}`;
    if (name.startsWith('bn1.')) return `resnet.embedder.embedder.normalization.${name.slice(4)}`;
    if (name.startsWith('fc.')) return `classifier.1.${name.slice(3)}`;
    throw new Error(`no transformers name for ${name}`);
  }
  const [, stage, index, rest] = block;
  const at = `resnet.encoder.stages.${Number(stage) - 1}.layers.${index}`;
  const part = /^(conv|bn)(\d)\.(.*)$/.exec(rest!);
  if (part) {
    const module = part[1] === 'conv' ? 'convolution' : 'normalization';
    return `${at}.layer.${Number(part[2]) - 1}.${module}.${part[3]}`;
  }
  const shortcut = /^downsample\.([01])\.(.*)$/.exec(rest!)!;
  return `${at}.shortcut.${shortcut[1] === '0' ? 'convolution' : 'normalization'}.${shortcut[2]}`;
}

/**
 * config.json of a transformers ResNetForImageClassification with two blocks per stage: bottleneck
 * (hidden_sizes 256..2048, as microsoft/resnet-50's) or basic (64..512, as microsoft/resnet-18's).
 */
export function transformersConfig(layerType: 'basic' | 'bottleneck', labels?: string[]): Record<string, unknown> {
  return {
    architectures: ['ResNetForImageClassification'],
    model_type: 'resnet',
    depths: [2, 2, 2, 2],
    hidden_sizes: layerType === 'basic' ? [64, 128, 256, 512] : [256, 512, 1024, 2048],
    embedding_size: 64,
    layer_type: layerType,
    hidden_act: 'relu',
    downsample_in_first_stage: false,
    ...(labels && { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])) }),
  };
}

/** Writes the folder of `model` (a plain bottleneck ResNet of the fixture) into `folder`; returns its processor config. */
export async function writeHuggingFaceFolder(
  folder: string,
  model: { params: Array<[string, number[]]> },
  labels: string[],
  size: number,
): Promise<{ image_mean: number[]; image_std: number[]; size: number; resample: number; crop_pct: number }> {
  const tensors = model.params.map(([name, shape]) => ({
    name: transformersName(name),
    shape,
    data: generate(name, shape, name.startsWith('layer') && name.includes('.bn3.')),
  }));
  await writeFile(join(folder, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  await writeFile(join(folder, 'config.json'), JSON.stringify(transformersConfig('bottleneck', labels)));
  const processor = {
    crop_pct: 0.9, // (80 / 0.9 = 88.9: transformers rounds down, to 88)
    do_normalize: true,
    do_resize: true,
    image_mean: [0.485, 0.456, 0.406],
    image_std: [0.229, 0.224, 0.225],
    resample: 3,
    size,
  };
  await writeFile(join(folder, 'preprocessor_config.json'), JSON.stringify(processor));
  return processor;
}

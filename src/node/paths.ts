import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { pretrainedModelPath } from './model-cache.js';

/** The package root (the folder with webgpu-resnet's package.json), found from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'webgpu-resnet') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the webgpu-resnet package root');
    dir = up;
  }
}

/** $WEBGPU_RESNET_WEIGHTS: a weights file that replaces the pretrained default (a clear error when it is not there);
 * undefined when unset. */
export function weightsFromEnv(): string | undefined {
  const path = process.env.WEBGPU_RESNET_WEIGHTS;
  if (path !== undefined && !existsSync(path)) throw new InputError(`WEBGPU_RESNET_WEIGHTS=${path}: file not found`);
  return path;
}

/**
 * The weights used when none are given: $WEBGPU_RESNET_WEIGHTS, else the pretrained Keras ResNet-50's
 * model.json in the per-user model cache (present once fetched: `webgpu-resnet fetch`, `npm run setup`
 * or the first `loadResNet()`).
 */
export function defaultModelPath(): string {
  return weightsFromEnv() ?? pretrainedModelPath();
}

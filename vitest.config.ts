import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/** Test files by layer (every file in exactly one: checked below). */
export const LAYERS: Record<string, string[]> = {
  unit: [
    'planner',
    'kernel-interfaces',
    'half',
    'preprocess',
    'kernels',
    'fuzz',
    'loader',
    'url-cache',
    'train-kernels',
    'deploy',
  ],
  gpu: [
    'resnet50',
    'golden',
    'family',
    'hub-folders',
    'keras-v2',
    'serve',
    'serve-faults',
    'serve-grpc',
    'autotune',
    'lesion',
    'cam',
    'compact',
    'input-size',
    'lifetimes',
    'bad-inputs',
    'bad-files',
    'tfjs-quantized',
    'non-finite',
    'train',
  ],
  cli: ['cli', 'folder-run', 'train-cli', 'serve-cli'],
  browser: ['browser', 'browser-app', 'browser-library', 'teach'],
  network: ['install', 'cache-integrity', 'consumer-vite', 'consumer-node'],
};

// Every test file in exactly one layer: a new file that is not listed fails the run here, not silently.
const files = readdirSync('test')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -'.test.ts'.length))
  .sort();
const listed = Object.values(LAYERS).flat().sort();
if (files.join() !== listed.join())
  throw new Error(
    `test files and LAYERS in vitest.config.ts differ: not listed ${files.filter((f) => !listed.includes(f)).join(', ') || '-'}; listed twice or missing ${listed.filter((f, i) => listed.indexOf(f) !== i || !files.includes(f)).join(', ') || '-'}`,
  );

export default defineConfig({
  plugins: [
    {
      // WGSL files are imported as text, as esbuild's text loader does for dist/.
      name: 'wgsl-text',
      transform(_code: string, id: string) {
        if (!id.endsWith('.wgsl')) return null;
        return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
      },
    },
  ],
  test: {
    // The layers (npm run test:<name>; npm test runs them all). A file belongs to the first layer whose
    // needs it has: unit (the CPU and kernels on small shapes), gpu (whole networks on the GPU), cli
    // (dist/cli.js), browser (Chromium, Firefox ESR), network (npm's registry).
    projects: Object.entries(LAYERS).map(([name, layer]) => ({
      extends: true,
      test: { name, include: layer.map((f) => `test/${f}.test.ts`) },
    })),
    // assertions counted per file into test-output/assertions.jsonl (scripts/count-assertions.mjs sums them)
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/count-assertions.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // the soak test measures the heap after a forced GC (without one, heapUsed is whatever the GC left)
    execArgv: ['--expose-gc'],
    // one file at a time, across layers too: the GPU (lavapipe) and the browsers each want both cores
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
});

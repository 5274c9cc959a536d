#!/usr/bin/env node
// Builds dist/: the Node library + CLI + bench + reference script (ESM, dependencies external) and the
// browser library (everything bundled, WGSL inlined). `--types` also emits the .d.ts files.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  logLevel: args.has('--quiet') ? 'warning' : 'info',
  absWorkingDir: root,
  sourcemap: true,
};

// Chunk names carry content hashes: drop the last build's, or dist/ (and the package) keeps them all.
rmSync(join(root, 'dist', 'chunks'), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    platform: 'node',
    packages: 'external',
    entryPoints: {
      node: 'src/node.ts',
      cli: 'src/cli.ts',
      serve: 'src/serve.ts',
      'serve-load': 'bench/serve-load.ts',
      bench: 'bench/bench.ts',
      'make-reference': 'scripts/make-reference.ts',
      'golden-weights': 'scripts/golden-weights.ts',
      'golden-check': 'bench/golden-check.ts',
      'family-onnx-check': 'bench/family-onnx-check.ts',
      'simd-designs': 'bench/simd-designs.ts',
      tune: 'bench/tune.ts',
      soak: 'bench/soak.ts',
      lesion: 'bench/lesion.ts',
      'train-head': 'bench/train-head.ts',
      'train-augment': 'bench/train-augment.ts',
    },
    outdir: 'dist',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  // worker.js starts resnet-worker.js from its own folder (new URL('./resnet-worker.js', import.meta.url)),
  // so the demo gets a copy next to its app.js.
  build({
    ...common,
    platform: 'browser',
    entryPoints: {
      browser: 'src/browser.ts',
      worker: 'src/worker.ts',
      'resnet-worker': 'src/worker/host.ts',
      'demo/app': 'demo/app.ts',
      'demo/resnet-worker': 'src/worker/host.ts',
    },
    outdir: 'dist',
  }),
]);
if (args.has('--types')) {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'inherit' },
  );
}

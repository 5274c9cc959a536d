import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

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
    include: ['test/**/*.test.ts'],
    // assertions counted per file into test-output/assertions.jsonl (scripts/count-assertions.mjs sums them)
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/count-assertions.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // the soak test measures the heap after a forced GC (without one, heapUsed is whatever the GC left)
    execArgv: ['--expose-gc'],
    fileParallelism: false,
    reporters: ['default'],
  },
});

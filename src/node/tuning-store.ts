/**
 * The autotune's answers across processes in Node (src/runtime/autotune.ts): autotune.json in the model
 * cache folder, written to a temporary file beside it and renamed into place (a reader never sees half).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TuningStore } from '../runtime/autotune.js';
import { modelCacheDir } from './model-cache.js';

let writes = 0;

export function nodeTuningStore(dir = modelCacheDir()): TuningStore {
  const file = join(dir, 'autotune.json');
  return {
    read: () => readFile(file, 'utf8').catch(() => undefined),
    async write(text: string) {
      await mkdir(dir, { recursive: true });
      const temporary = `${file}.${process.pid}-${++writes}.tmp`;
      try {
        await writeFile(temporary, text);
        await rename(temporary, file);
      } finally {
        await rm(temporary, { force: true });
      }
    },
  };
}

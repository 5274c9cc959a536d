/**
 * The autotune's answers in Node (src/runtime/tuning-answers.ts): one TuningAnswers per model cache folder
 * for the process, kept beyond it in autotune.json in that folder, written to a temporary file beside it and
 * renamed into place (a reader never sees half).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TuningAnswers, type TuningStore } from '../runtime/tuning-answers.js';
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

const byFolder = new Map<string, TuningAnswers>();

/** This process's answers for the model cache folder `dir` (made on first use, reading its file). */
export function nodeTuningAnswers(dir = modelCacheDir()): TuningAnswers {
  let answers = byFolder.get(dir);
  if (!answers) byFolder.set(dir, (answers = new TuningAnswers(nodeTuningStore(dir))));
  return answers;
}

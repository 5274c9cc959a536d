/**
 * Compact copies of the pretrained ResNet-50 in the model cache (`<cache>/compact/resnet50-<precision>
 * .safetensors`, what the demo serves): written once from the cached model by the code of `webgpu-resnet
 * convert`, recorded like the pretrained entry (size and SHA-256 in `<file>.record.json`), checked each
 * time they are asked for, and written again when damaged.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { compactOf } from '../api/compact.js';
import { loadTfjsLayersModel } from '../loaders/tfjs-layers.js';
import type { WeightStorage } from '../kernels/weight-storage.js';
import { checkFiles, isFileRecords, readJson, recordFiles, writeWhole, type Damage } from './cache-integrity.js';
import { folderSource } from './files.js';
import { fetchPretrained, modelCacheDir, noticeOnStderr, PRETRAINED, type FetchOptions } from './model-cache.js';

/** Where the compact pretrained model of `precision` lives in a cache folder (present or not). */
export function compactPretrainedPath(precision: WeightStorage, cacheDir = modelCacheDir()): string {
  return resolve(cacheDir, 'compact', `resnet50-${precision}.safetensors`);
}

/** The record kept beside a file the cache wrote, and the fingerprints of its last full check. */
const recordOf = (file: string) => ({ record: `${file}.record.json`, verified: `${file}.verified.json` });

/** A file with a record beside it: what is wrong with it, if anything (undefined: intact, or no record). */
export async function damageOfRecorded(file: string, full = false): Promise<Damage | undefined> {
  const { record, verified } = recordOf(file);
  if (!existsSync(record)) return undefined;
  const records = await readJson(record);
  if (!isFileRecords(records)) return { file: record, problem: 'is not a valid record of the file beside it' };
  return checkFiles(dirname(file), records, { verifiedFile: verified, full });
}

/**
 * The compact pretrained ResNet-50 in `precision`, written into the model cache if it is missing, damaged
 * (a notice says so) or `force`d. The pretrained model it is made from is fetched (when missing) and
 * checked first, as any load does.
 */
export async function compactPretrained(precision: WeightStorage, options: FetchOptions = {}): Promise<string> {
  const file = compactPretrainedPath(precision, options.cacheDir);
  const { record, verified } = recordOf(file);
  if (!options.force && existsSync(file)) {
    const damage = existsSync(record)
      ? await damageOfRecorded(file, options.verify)
      : { file, problem: 'has no recorded SHA-256 (an older version wrote it)' };
    if (!damage) return file;
    (options.onNotice ?? noticeOnStderr)(`${damage.file} ${damage.problem}; writing ${basename(file)} again`);
  }
  const modelJson = await fetchPretrained({ ...options, force: false, verify: false });
  const loaded = {
    graph: await loadTfjsLayersModel(folderSource(dirname(modelJson)), 'model.json'),
    format: 'tfjs-layers' as const,
  };
  const { bytes } = compactOf(loaded, precision, {}, `${PRETRAINED.spec} (ResNet50/model.json)`);
  await rm(record, { force: true }); // a reader between the two writes sees a file without a record: written again
  await writeWhole(file, bytes);
  await writeWhole(record, `${JSON.stringify(await recordFiles(dirname(file), [basename(file)], verified))}\n`);
  return file;
}

/**
 * `webgpu-resnet eval <folder|images...> --labels <csv> [--precision f32,f16,int8] [--batch N]`: top-1 and
 * top-5 accuracy against a labels file (`file,class_index` columns, by file name) or, for one folder of
 * one sub-folder per class, against the sub-folders' names (a trained model's labels), images/s, and for
 * several precisions each one's top-1 agreement with the first, so a converted model can be checked on
 * the user's own labelled images.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadResNet } from '../node.js';
import { isWeightStorage, WEIGHT_STORAGES, type WeightStorage } from '../kernels/weight-storage.js';
import { topIndices } from '../util/vectors.js';
import { loadOptions, positiveIntegerFlag, UsageError, type Parsed } from './args.js';
import { imageProgress, inBatches } from './batch-run.js';
import { classFolders, collectImages } from './image-list.js';

/** file name -> class index, from a CSV with a header naming `file` and `class_index`. */
async function readLabels(path: string): Promise<Map<string, number>> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--labels ${path}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  const [header, ...rows] = text.split(/\r?\n/).filter((l) => l.trim());
  const columns = (header ?? '').split(',').map((c) => c.trim());
  const fileAt = columns.indexOf('file'),
    classAt = columns.indexOf('class_index');
  if (fileAt < 0 || classAt < 0)
    throw new UsageError(`--labels ${path}: the header must name the columns file and class_index, got "${header}"`);
  const labels = new Map<string, number>();
  rows.forEach((row, i) => {
    const cells = row.split(',');
    const index = Number(cells[classAt]);
    if (!cells[fileAt] || !Number.isInteger(index) || index < 0)
      throw new UsageError(`--labels ${path}: line ${i + 2} has no file or class_index: "${row}"`);
    labels.set(basename(cells[fileAt]!.trim()), index);
  });
  return labels;
}

interface Row {
  precision: WeightStorage;
  images: number;
  top1: number;
  top5: number;
  agreement?: number;
  imagesPerSecond: number;
  weightBytes: number;
  failed: number;
}

/**
 * What each image should be, by the model's class index: from the labels CSV (by file name), or without
 * one, from the folder-per-class layout (`eval <folder>` with a sub-folder per class, named as the
 * model's labels: what `train` reads).
 */
async function expectations(
  args: Parsed,
): Promise<{ files: string[]; expected: (file: string, labels: readonly string[]) => number; from: string }> {
  const labelsPath = args.flags.get('--labels');
  if (typeof labelsPath !== 'string') {
    if (args.positional.length !== 1)
      throw new UsageError(
        'eval needs --labels <csv with file,class_index columns>, or one folder of one sub-folder per class',
      );
    const { images } = await classFolders(args.positional[0]!);
    const byFile = new Map(images.map((i) => [i.file, i.label]));
    return {
      files: images.map((i) => i.file),
      from: `the class folders of ${args.positional[0]}`,
      expected: (file, labels) => {
        const index = labels.indexOf(byFile.get(file)!);
        if (index < 0) throw new UsageError(`the class folder ${byFile.get(file)} is not one of the model's labels`);
        return index;
      },
    };
  }
  const labels = await readLabels(labelsPath);
  const all = await collectImages(args.positional, undefined);
  const files = all.filter((f) => labels.has(basename(f)));
  if (files.length === 0) throw new UsageError(`none of the ${all.length} images has a line in ${labelsPath}`);
  if (files.length < all.length)
    console.error(`webgpu-resnet: ${all.length - files.length} images have no label in ${labelsPath}; skipped`);
  return { files, from: labelsPath, expected: (file) => labels.get(basename(file))! };
}

export async function evaluate(args: Parsed): Promise<number> {
  const precisions = String(args.flags.get('--precision') ?? 'f32')
    .split(',')
    .map((p) => p.trim()) as WeightStorage[];
  for (const p of precisions)
    if (!isWeightStorage(p))
      throw new UsageError(`--precision takes a list of ${WEIGHT_STORAGES.join(', ')}, got ${p}`);
  const batch = positiveIntegerFlag(args, '--batch', 4);
  const { files, expected } = await expectations(args);
  // --precision here is a list; each model is loaded with one of its values
  const options = loadOptions({ ...args, flags: new Map([...args.flags].filter(([k]) => k !== '--precision')) });
  const rows: Row[] = [];
  let first: Map<string, number> | undefined;
  for (const precision of precisions) {
    const model = await loadResNet({ ...options, precision });
    const top1 = new Map<string, number>();
    let top5 = 0,
      failed = 0,
      done = 0;
    const progress = imageProgress(files.length);
    const start = performance.now();
    try {
      for await (const items of inBatches(model, files, { batch, output: 'probabilities' })) {
        for (const item of items) {
          if (!item.values) {
            failed++;
            console.error(`webgpu-resnet: error: ${item.error}`);
            continue;
          }
          const best = topIndices(item.values, 5);
          top1.set(item.file, best[0]!);
          if (best.includes(expected(item.file, model.labels))) top5++;
        }
        progress?.((done += items.length));
      }
    } finally {
      model.dispose();
    }
    const seconds = (performance.now() - start) / 1000;
    const correct = [...top1].filter(([f, c]) => expected(f, model.labels) === c).length;
    first ??= top1;
    const agreement = rows.length ? [...top1].filter(([f, c]) => first!.get(f) === c).length : undefined;
    rows.push({
      precision,
      images: top1.size,
      top1: correct,
      top5,
      agreement,
      imagesPerSecond: top1.size / seconds,
      weightBytes: model.info.weightBytes,
      failed,
    });
  }
  if (args.flags.has('--json')) {
    for (const r of rows) console.log(JSON.stringify(r));
  } else {
    const pct = (n: number, of: number) => `${n}/${of} (${((100 * n) / of).toFixed(1)}%)`;
    console.log(
      `precision  images  top-1             top-5             top-1 agreement with ${rows[0]!.precision}  images/s ` +
        ` GPU weights`,
    );
    const agreement = (r: (typeof rows)[number]) => (r.agreement === undefined ? '-' : pct(r.agreement, r.images));
    for (const r of rows) {
      console.log(
        `${r.precision.padEnd(9)}  ${String(r.images).padEnd(6)}  ${pct(r.top1, r.images).padEnd(16)}  ` +
          `${pct(r.top5, r.images).padEnd(16)}  ${agreement(r).padEnd(28)}  ` +
          `${r.imagesPerSecond.toFixed(2).padEnd(8)}  ${(r.weightBytes / 1e6).toFixed(1)} MB`,
      );
    }
  }
  return rows.some((r) => r.failed) ? 1 : 0;
}

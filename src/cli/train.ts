/**
 * `webgpu-resnet train <folder> --out custom.safetensors [--weights base] [--epochs N] [--val 0.2]
 * [--augment N] [--precision f32|f16|int8] [--head-only] [--json]`: new classes from a folder of one sub-folder per
 * class (the sub-folder's name is the label), trained on the GPU on the base's features (default: the
 * pretrained ResNet-50). Writes the whole model (the base as `convert` writes it, with the new head and
 * labels: `--weights` loads it with no other flag) or, with --head-only, the head alone (kilobytes; load
 * it with `--head` over its base). --augment N: N more views (random crops and mirrors) of each training
 * image. Prints the class counts, a line per epoch, and the validation split's confusion matrix.
 */
import type { ResNetModel } from '../api/model.js';
import { compactOf } from '../api/compact.js';
import type { FitResultOf } from '../api/training.js';
import { headToSafetensors } from '../export/head-file.js';
import { sourceOptions } from '../loaders/formats.js';
import { loadGraph, loadResNet, PRETRAINED } from '../node.js';
import { writeWhole } from '../node/cache-integrity.js';
import { loadOptions, numberFlag, positiveIntegerFlag, UsageError, type Parsed } from './args.js';
import { classFolders } from './image-list.js';
import { imageProgress } from './batch-run.js';

export async function train(args: Parsed): Promise<number> {
  const out = args.flags.get('--out');
  if (typeof out !== 'string' || !/\.safetensors$/i.test(out))
    throw new UsageError('train needs --out <file.safetensors>');
  if (args.positional.length !== 1) throw new UsageError('train takes one folder, with one sub-folder per class');
  const epochs = positiveIntegerFlag(args, '--epochs', 60);
  const validationSplit = numberFlag(args, '--val', 0.2, (n) => n >= 0 && n < 1, 'in [0, 1)');
  const copies = numberFlag(
    args,
    '--augment',
    0,
    (n) => Number.isInteger(n) && n >= 0 && n <= 16,
    'an integer from 0 to 16',
  );
  const json = args.flags.has('--json');
  const { classes, images } = await classFolders(args.positional[0]!);
  const options = loadOptions(args);
  const { precision, ...loadBase } = options;
  const model = await loadResNet(loadBase);
  let result: FitResultOf<ResNetModel<string | Uint8Array>> | undefined;
  try {
    const trainer = model.trainer();
    for (const { file, label } of images) trainer.add(file, label);
    if (!json)
      console.error(
        `webgpu-resnet: ${classes.length} classes: ${classes.map((c) => `${c} ${trainer.counts.get(c)}`).join(', ')}`,
      );
    let progress: ((done: number) => void) | undefined,
      total = 0;
    result = await trainer.fit({
      epochs,
      validationSplit,
      ...(copies > 0 && { augment: { copies } }),
      onEmbedded: (done, all) => {
        // the views come after the images
        if (all !== total) [progress, total] = [json ? undefined : imageProgress(all), all];
        progress?.(done);
      },
      onEpoch: (e) => {
        if (json) return;
        const validation =
          e.validationLoss === undefined
            ? ''
            : `, validation loss ${e.validationLoss.toFixed(4)} accuracy ${(100 * e.validationAccuracy!).toFixed(1)}%`;
        console.error(
          `epoch ${String(e.epoch).padStart(3)}: loss ${e.loss.toFixed(4)} accuracy ` +
            `${(100 * e.accuracy).toFixed(1)}%${validation}`,
        );
      },
    });
  } finally {
    model.dispose();
  }
  result.model.dispose();
  for (const s of result.skipped)
    console.error(`webgpu-resnet: skipped ${images[s.index]!.file} (${s.label}): ${s.error}`);
  const base = typeof loadBase.source === 'string' ? loadBase.source : PRETRAINED.spec;
  const bytes = args.flags.has('--head-only')
    ? headToSafetensors(result.head, base)
    : compactOf(
        await loadGraph({ ...sourceOptions(loadBase), source: loadBase.source }),
        precision ?? 'f32',
        loadBase,
        base,
        result.head,
      ).bytes;
  await writeWhole(out, bytes);
  report(result, out, bytes.length, json);
  return result.skipped.length ? 1 : 0;
}

function report(
  result: FitResultOf<ResNetModel<string | Uint8Array>>,
  out: string,
  bytes: number,
  json: boolean,
): void {
  const { head, history, epoch, validation, milliseconds } = result;
  const augmented = result.augmented ? ` (${result.augmented} augmented views among the training examples)` : '';
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (json) {
    console.log(
      JSON.stringify({
        out,
        bytes,
        labels: head.labels,
        epochs: history.length,
        epoch,
        history,
        validation,
        augmented: result.augmented,
        skipped: result.skipped,
        milliseconds,
      }),
    );
    return;
  }
  console.log(
    `${out}: ${head.labels.length} classes, ${(bytes / 1e6).toFixed(2)} MB; the head of epoch ${epoch} of ` +
      `${history.length}${augmented}; ` +
      `embedding ${seconds(milliseconds.embedding)}, training ${seconds(milliseconds.training)}`,
  );
  if (!validation) return;
  const width = Math.max(...head.labels.map((l) => l.length), 9);
  console.log(
    `validation: ${(100 * validation.accuracy).toFixed(1)}% of ${validation.examples} images; confusion (rows: the ` +
      `true class, columns: the predicted)`,
  );
  console.log(`${''.padEnd(width)}  ${head.labels.map((l) => l.slice(0, 8).padStart(8)).join(' ')}`);
  validation.confusion.forEach((row, i) => {
    console.log(`${head.labels[i]!.padEnd(width)}  ${row.map((n) => String(n).padStart(8)).join(' ')}`);
  });
}

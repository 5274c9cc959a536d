/** The CLI's model commands: classify, embed (over files, folders and lists), blocks, infer (each returns the process
 * exit code). */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import type { NodeImage } from '../node.js';
import type { ResNetModel } from '../api/model.js';
import { cosineSimilarity, normalizeL2 } from '../util/vectors.js';
import { imageProgress, inBatches, JsonLines, type RunItem } from './batch-run.js';
import { collectImages, parseShard, shardOf } from './image-list.js';
import { positiveIntegerFlag, report, skipBlocks, UsageError, type Parsed } from './args.js';

/** The images of a classify / embed run: files, folders, --list, --shard; minus those --resume finds done. */
async function runImages(args: Parsed): Promise<{ files: string[]; batch: number; out?: JsonLines; skipped: number }> {
  const list = args.flags.get('--list');
  const shard = args.flags.get('--shard');
  const outPath = args.flags.get('--out');
  const batch = positiveIntegerFlag(args, '--batch', 1);
  if (args.flags.has('--resume') && typeof outPath !== 'string')
    throw new UsageError('--resume needs --out <results.jsonl>');
  let files = await collectImages(args.positional, typeof list === 'string' ? list : undefined);
  if (typeof shard === 'string') files = shardOf(files, parseShard(shard));
  if (typeof outPath !== 'string') return { files, batch, skipped: 0 };
  const { out, done } = await JsonLines.open(outPath, args.flags.has('--resume'));
  const todo = files.filter((f) => !done.has(f));
  return { files: todo, batch, out, skipped: files.length - todo.length };
}

/**
 * classify and embed: every image once, in batches; each result (or error) written as it arrives, to
 * --out as JSON Lines or to stdout (--json: JSON Lines; else text, errors on stderr). Exit 1 if any failed.
 */
async function runOver(
  args: Parsed,
  model: ResNetModel<NodeImage>,
  output: 'probabilities' | 'features',
  record: (item: RunItem) => object,
  text: (item: RunItem) => string,
): Promise<{ failures: number; done: RunItem[] }> {
  const { files, batch, out, skipped } = await runImages(args);
  if (files.length === 0 && skipped === 0) throw new UsageError(`${args.command} needs at least one image`);
  const progress = out ? imageProgress(files.length) : undefined;
  const json = args.flags.has('--json');
  let failures = 0,
    count = 0;
  const done: RunItem[] = [];
  try {
    for await (const items of inBatches(model, files, { batch, output, skipBlocks: skipBlocks(args) })) {
      for (const item of items) {
        if (item.error) failures++;
        if (out) await out.write(item.error ? { file: item.file, error: item.error } : record(item));
        else if (item.error) report(new Error(item.error), false);
        else console.log(json ? JSON.stringify(record(item)) : text(item));
        if (!item.error && !out) done.push(item);
      }
      progress?.((count += items.length));
    }
  } finally {
    await out?.close();
  }
  if (out)
    console.error(
      `webgpu-resnet: ${files.length - failures} of ${files.length} images done` +
        (skipped ? ` (${skipped} already in the output, skipped)` : '') +
        (failures ? `, ${failures} failed (error lines in the output)` : ''),
    );
  return { failures, done };
}

/** The first values of a vector, 4 decimals each. */
const fixed4 = (v: Float32Array) => Array.from(v, (x) => x.toFixed(4)).join(', ');

export async function classify(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const top = positiveIntegerFlag(args, '--top-k', 5);
  const predictions = (item: RunItem) =>
    model.top(item.values!, top).map(({ index, label, probability }) => ({ index, label, probability }));
  const { failures } = await runOver(
    args,
    model,
    'probabilities',
    (item) => ({ file: item.file, top: predictions(item) }),
    (item) =>
      [
        basename(item.file),
        ...predictions(item).map(
          (p, i) => `  ${String(i + 1).padStart(2)}. ${p.label} (${p.index})  ${(100 * p.probability).toFixed(2)}%`,
        ),
      ].join('\n'),
  );
  return failures ? 1 : 0;
}

export async function embed(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const normalize = args.flags.has('--normalize');
  const vector = (item: RunItem) => (normalize ? normalizeL2(item.values!) : item.values!);
  const { failures, done } = await runOver(
    args,
    model,
    'features',
    (item) => ({ file: item.file, embedding: Array.from(vector(item)) }),
    (item) => {
      const v = vector(item);
      return (
        `${basename(item.file)}: ${v.length} values, L2 norm ${Math.hypot(...v).toFixed(4)} ` +
        `[${Array.from(v.subarray(0, 4), (x) => x.toFixed(4)).join(', ')}, ...]`
      );
    },
  );
  if (!args.flags.has('--json') && done.length > 1 && done.length <= 20) {
    console.log('cosine similarity:');
    for (let i = 0; i < done.length; i++)
      for (let j = i + 1; j < done.length; j++) {
        console.log(
          `  ${cosineSimilarity(done[i]!.values!, done[j]!.values!).toFixed(4)}  ${basename(done[i]!.file)} ~ ` +
            `${basename(done[j]!.file)}`,
        );
      }
  }
  return failures ? 1 : 0;
}

/** What was loaded and how it will run: network, input, classes, precision, preprocessing, GPU memory, adapter. */
export function info(args: Parsed, model: ResNetModel<NodeImage>): number {
  const { info: i, preprocessing: p } = model;
  if (args.flags.has('--json')) {
    console.log(JSON.stringify({ ...i, preprocessing: p, blocks: model.blocks.length }));
    return 0;
  }
  console.log(
    `${i.architecture} (${i.name}): input ${i.inputShape.join('x')}, ${i.classes} classes` +
      `${i.labelsFrom ? ` (labels: ${i.labelsFrom})` : ''}, ${i.features} features, ` +
      `${model.blocks.length} residual blocks`,
  );
  console.log(
    `weights: ${i.precision}, ${(i.weightBytes / 1e6).toFixed(1)} MB on the GPU; arena ` +
      `${(i.arenaBytesBatch1 / 1e6).toFixed(1)} MB at batch 1; ${i.dispatches} dispatches, ${i.pipelines} ` +
      `pipelines (${i.convStrategy} convs)`,
  );
  console.log(
    `preprocessing: resize the shorter side to ${p.resizeTo} (${p.interpolation ?? 'bilinear'}), center crop ` +
      `${p.cropTo}, ${p.order}, x${p.scale}, ` +
      `mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`,
  );
  console.log(`adapter: ${i.adapter}`);
  return 0;
}

export function blocks(args: Parsed, model: ResNetModel<NodeImage>): number {
  if (args.flags.has('--json')) {
    console.log(JSON.stringify(model.blocks));
    return 0;
  }
  console.log(`${model.info.name}: ${model.blocks.length} residual blocks (delete with --skip-blocks)`);
  for (const b of model.blocks) {
    console.log(
      `  ${b.name.padEnd(9)} ${b.inputShape.join('x').padStart(11)} -> ${b.outputShape.join('x').padEnd(11)} ` +
        `${b.projection ? 'projection' : 'identity  '}  ${b.layers.join(', ')}`,
    );
  }
  return 0;
}

export async function infer(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const inputPath = args.flags.get('--input');
  const shapeArg = args.flags.get('--shape');
  const layout = (args.flags.get('--layout') ?? 'nhwc') as string;
  const output = (args.flags.get('--output') ?? 'probabilities') as string;
  if (typeof inputPath !== 'string') throw new UsageError('infer needs --input <raw float32 file>');
  if (typeof shapeArg !== 'string')
    throw new UsageError('infer needs --shape, e.g. 1,224,224,3 (nhwc) or 1,3,224,224 (nchw)');
  if (layout !== 'nhwc' && layout !== 'nchw') throw new UsageError(`--layout must be nhwc or nchw, got ${layout}`);
  if (output !== 'logits' && output !== 'probabilities' && output !== 'features')
    throw new UsageError(`--output must be logits, probabilities or features, got ${output}`);
  const shape = shapeArg.split(',').map((d) => Number(d.trim()));
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new UsageError(`--shape must be 4 positive integers, got ${shapeArg}`);
  const [h, w, c] = model.info.inputShape;
  const want = layout === 'nhwc' ? [h, w, c] : [c, h, w];
  if (shape.slice(1).join() !== want.join()) {
    throw new InputError(
      `--shape ${shape.join(',')} does not match the model's input N,${want} (${layout}); --input-size ` +
        `${layout === 'nhwc' ? shape[1] : shape[2]}x${layout === 'nhwc' ? shape[2] : shape[3]} plans the network ` +
        `for that size`,
    );
  }
  const bytes = await readFile(inputPath).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${inputPath}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  const batch = shape[0]!;
  const expected = batch * h * w * c * 4;
  if (bytes.length !== expected)
    throw new InputError(
      `${inputPath}: ${bytes.length} bytes, expected ${shape.join('x')} float32 = ${expected} bytes`,
    );
  const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const result = await model.infer(input, { batch, layout, output, skipBlocks: skipBlocks(args) });
  const classes = result.length / batch;
  if (args.flags.has('--json')) {
    console.log(JSON.stringify({ shape: [batch, classes], data: Array.from(result) }));
  } else if (output === 'features') {
    for (let b = 0; b < batch; b++)
      console.log(`image ${b}: ${classes} features [${fixed4(result.subarray(b * classes, b * classes + 4))}, ...]`);
  } else {
    for (let b = 0; b < batch; b++) {
      const top = model.top(result.subarray(b * classes, (b + 1) * classes), 5);
      console.log(`image ${b}: ${top.map((p) => `${p.label} (${p.index}) ${p.probability.toFixed(4)}`).join(', ')}`);
    }
  }
  return 0;
}

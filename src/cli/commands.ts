/** The CLI's model commands: classify, embed, blocks, infer (each returns the process exit code). */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import type { NodeImage } from '../node.js';
import type { ResNetModel } from '../api/model.js';
import { cosineSimilarity } from '../util/vectors.js';
import { report, skipBlocks, UsageError, type Parsed } from './args.js';

export async function classify(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const json = args.flags.has('--json');
  const top = Number(args.flags.get('--top') ?? 5);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a positive integer, got ${args.flags.get('--top')}`);
  let failures = 0;
  for (const file of args.positional) {
    try {
      const predictions = await model.classify(file, { topK: top, skipBlocks: skipBlocks(args) });
      if (json) {
        console.log(JSON.stringify({ file, top: predictions.map(({ index, label, probability }) => ({ index, label, probability })) }));
      } else {
        console.log(basename(file));
        predictions.forEach((p, i) => console.log(`  ${String(i + 1).padStart(2)}. ${p.label} (${p.index})  ${(100 * p.probability).toFixed(2)}%`));
      }
    } catch (err) {
      failures++;
      report(err, args.flags.has('--verbose'));
    }
  }
  return failures ? 1 : 0;
}

export async function embed(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const json = args.flags.has('--json');
  const options = { normalize: args.flags.has('--normalize'), skipBlocks: skipBlocks(args) };
  let failures = 0;
  const done: Array<{ file: string; embedding: Float32Array }> = [];
  for (const file of args.positional) {
    try {
      const embedding = await model.embed(file, options);
      done.push({ file, embedding });
      if (json) console.log(JSON.stringify({ file, embedding: Array.from(embedding) }));
      else {
        const head = Array.from(embedding.subarray(0, 4), (v) => v.toFixed(4)).join(', ');
        console.log(`${basename(file)}: ${embedding.length} values, L2 norm ${Math.hypot(...embedding).toFixed(4)} [${head}, ...]`);
      }
    } catch (err) {
      failures++;
      report(err, args.flags.has('--verbose'));
    }
  }
  if (!json && done.length > 1) {
    console.log('cosine similarity:');
    for (let i = 0; i < done.length; i++) for (let j = i + 1; j < done.length; j++) {
      console.log(`  ${cosineSimilarity(done[i]!.embedding, done[j]!.embedding).toFixed(4)}  ${basename(done[i]!.file)} ~ ${basename(done[j]!.file)}`);
    }
  }
  return failures ? 1 : 0;
}

export function blocks(args: Parsed, model: ResNetModel<NodeImage>): number {
  if (args.flags.has('--json')) {
    console.log(JSON.stringify(model.blocks));
    return 0;
  }
  console.log(`${model.info.name}: ${model.blocks.length} residual blocks (delete with --skip-blocks)`);
  for (const b of model.blocks) {
    console.log(`  ${b.name.padEnd(9)} ${b.inputShape.join('x').padStart(11)} -> ${b.outputShape.join('x').padEnd(11)} ${b.projection ? 'projection' : 'identity  '}  ${b.layers.join(', ')}`);
  }
  return 0;
}

export async function infer(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const inputPath = args.flags.get('--input');
  const shapeArg = args.flags.get('--shape');
  const layout = (args.flags.get('--layout') ?? 'nhwc') as string;
  const output = (args.flags.get('--output') ?? 'probabilities') as string;
  if (typeof inputPath !== 'string') throw new UsageError('infer needs --input <raw float32 file>');
  if (typeof shapeArg !== 'string') throw new UsageError('infer needs --shape, e.g. 1,224,224,3 (nhwc) or 1,3,224,224 (nchw)');
  if (layout !== 'nhwc' && layout !== 'nchw') throw new UsageError(`--layout must be nhwc or nchw, got ${layout}`);
  if (output !== 'logits' && output !== 'probabilities' && output !== 'features') throw new UsageError(`--output must be logits, probabilities or features, got ${output}`);
  const shape = shapeArg.split(',').map((d) => Number(d.trim()));
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new UsageError(`--shape must be 4 positive integers, got ${shapeArg}`);
  const [h, w, c] = model.info.inputShape;
  const want = layout === 'nhwc' ? [h, w, c] : [c, h, w];
  if (shape.slice(1).join() !== want.join()) {
    throw new InputError(`--shape ${shape.join(',')} does not match the model's input ${layout === 'nhwc' ? `N,${want}` : `N,${want}`} (${layout})`);
  }
  const bytes = await readFile(inputPath).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${inputPath}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
  const batch = shape[0]!;
  const expected = batch * h * w * c * 4;
  if (bytes.length !== expected) throw new InputError(`${inputPath}: ${bytes.length} bytes, expected ${shape.join('x')} float32 = ${expected} bytes`);
  const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const result = await model.infer(input, { batch, layout, output, skipBlocks: skipBlocks(args) });
  const classes = result.length / batch;
  if (args.flags.has('--json')) {
    console.log(JSON.stringify({ shape: [batch, classes], data: Array.from(result) }));
  } else if (output === 'features') {
    for (let b = 0; b < batch; b++) console.log(`image ${b}: ${classes} features [${Array.from(result.subarray(b * classes, b * classes + 4), (v) => v.toFixed(4)).join(', ')}, ...]`);
  } else {
    for (let b = 0; b < batch; b++) {
      const top = model.top(result.subarray(b * classes, (b + 1) * classes), 5);
      console.log(`image ${b}: ${top.map((p) => `${p.label} (${p.index}) ${p.probability.toFixed(4)}`).join(', ')}`);
    }
  }
  return 0;
}


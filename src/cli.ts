#!/usr/bin/env node
/**
 * webgpu-resnet command line:
 *   webgpu-resnet classify <image...> [--weights model.json] [--top 5] [--skip-blocks layer3.2,...] [--json]
 *   webgpu-resnet embed <image...> [--normalize] [--json]
 *   webgpu-resnet blocks
 *   webgpu-resnet infer --input x.f32 --shape 2,3,224,224 --layout nchw [--weights model.json] [--output logits] --json
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from './errors.js';
import { loadResNet, type NodeImage } from './node.js';
import type { ResNetModel } from './api/model.js';
import { cosineSimilarity } from './util/vectors.js';

const USAGE = `usage:
  webgpu-resnet classify <image...> [--weights <file>] [--top <k>] [--skip-blocks <names>] [--json] [--verbose]
  webgpu-resnet embed <image...> [--weights <file>] [--normalize] [--skip-blocks <names>] [--json]
  webgpu-resnet blocks [--weights <file>] [--json]
  webgpu-resnet infer --input <raw float32 file> --shape <dims, e.g. 2,3,224,224> --layout nhwc|nchw
                      [--weights <file>] [--output logits|probabilities|features] [--skip-blocks <names>] [--json]

--weights: a TF.js layers model.json (Keras), a torchvision/timm .safetensors or an .onnx file; without
it, the pretrained Keras ResNet-50 fetched by \`npm run setup\` is used. --depth 18|34|50|101|152 checks
the weights' depth; --definition torchvision|keras-v1 says where a safetensors bottleneck's stride sits;
--precision f16 stores the conv weights as halves (half the GPU memory, faster on CPU adapters).
--skip-blocks layer3.2,layer4.0 deletes those residual blocks (each passes its input through its
shortcut); \`webgpu-resnet blocks\` lists the names.
classify --json prints one line per image: {"file","top":[{"index","label","probability"}]}
embed prints each image's feature vector (global average pool, 2048 values for ResNet-50) and, for two
or more images, their cosine similarities; --json prints one line per image: {"file","embedding":[...]}
infer --json prints {"shape":[N,classes],"data":[...]}`;

class UsageError extends Error {}

interface Parsed { command: string; positional: string[]; flags: Map<string, string | true> }

const VALUE_FLAGS = new Set(['--weights', '--top', '--input', '--shape', '--layout', '--output', '--depth', '--definition', '--precision', '--skip-blocks']);
const BOOL_FLAGS = new Set(['--json', '--verbose', '--help', '-h', '--version', '--normalize']);
const COMMANDS = ['classify', 'embed', 'blocks', 'infer'];

/** --skip-blocks a,b -> ['a', 'b'] (names are checked by the model). */
function skipBlocks(args: Parsed): string[] | undefined {
  const v = args.flags.get('--skip-blocks');
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

function parse(argv: string[]): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      if (VALUE_FLAGS.has(name)) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`${name} needs a value`);
        flags.set(name, v);
      } else if (BOOL_FLAGS.has(name)) flags.set(name, true);
      else throw new UsageError(`unknown option ${name}`);
    } else positional.push(a);
  }
  return { command: positional.shift() ?? '', positional, flags };
}

function progress(enabled: boolean) {
  if (!enabled || !process.stderr.isTTY) return undefined;
  let last = -1;
  return ({ loadedBytes, totalBytes }: { loadedBytes: number; totalBytes: number }) => {
    const pct = totalBytes ? Math.floor((100 * loadedBytes) / totalBytes) : 0;
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\rloading weights ${pct}% (${(loadedBytes / 1e6).toFixed(0)} / ${(totalBytes / 1e6).toFixed(0)} MB)${pct === 100 ? '\n' : ''}`);
  };
}

async function classify(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
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

async function embed(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
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

function blocks(args: Parsed, model: ResNetModel<NodeImage>): number {
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

async function infer(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
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

function report(err: unknown, verbose: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`webgpu-resnet: error: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (verbose && err instanceof Error && err.stack) console.error(err.stack);
}

async function main(argv: string[]): Promise<number> {
  let args: Parsed;
  try {
    args = parse(argv);
  } catch (err) {
    console.error(`webgpu-resnet: error: ${(err as Error).message} (see webgpu-resnet --help)`);
    return 1;
  }
  const verbose = args.flags.has('--verbose');
  if (args.flags.has('--help') || args.flags.has('-h') || args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.flags.has('--version')) {
    const { packageRoot } = await import('./node/paths.js');
    console.log(JSON.parse(await readFile(`${packageRoot()}/package.json`, 'utf8')).version);
    return 0;
  }
  if (!COMMANDS.includes(args.command)) {
    console.error(`webgpu-resnet: error: ${args.command ? `unknown command ${args.command}` : 'no command given'} (see webgpu-resnet --help)`);
    return 1;
  }
  if ((args.command === 'classify' || args.command === 'embed') && args.positional.length === 0) {
    console.error(`webgpu-resnet: error: ${args.command} needs at least one image (see webgpu-resnet --help)`);
    return 1;
  }
  let model: ResNetModel<NodeImage> | undefined;
  try {
    const weights = args.flags.get('--weights');
    const depth = args.flags.get('--depth');
    const definition = args.flags.get('--definition');
    if (depth !== undefined && !/^\d+$/.test(String(depth))) throw new UsageError(`--depth must be 18, 34, 50, 101 or 152, got ${depth}`);
    if (definition !== undefined && definition !== 'torchvision' && definition !== 'keras-v1') throw new UsageError(`--definition must be torchvision or keras-v1, got ${definition}`);
    const precision = args.flags.get('--precision');
    if (precision !== undefined && precision !== 'f32' && precision !== 'f16') throw new UsageError(`--precision must be f32 or f16, got ${precision}`);
    model = await loadResNet({
      source: typeof weights === 'string' ? weights : undefined,
      depth: depth === undefined ? undefined : Number(depth),
      definition: definition as 'torchvision' | 'keras-v1' | undefined,
      precision: precision as 'f32' | 'f16' | undefined,
      onProgress: progress(!args.flags.has('--json')),
    });
    switch (args.command) {
      case 'classify': return await classify(args, model);
      case 'embed': return await embed(args, model);
      case 'blocks': return blocks(args, model);
      default: return await infer(args, model);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`webgpu-resnet: error: ${err.message} (see webgpu-resnet --help)`);
      return 1;
    }
    report(err, verbose);
    return 1;
  } finally {
    model?.dispose();
  }
}

process.exitCode = await main(process.argv.slice(2));
// Dawn keeps the event loop alive for a moment after the last device is released; do not wait for it.
process.exit();

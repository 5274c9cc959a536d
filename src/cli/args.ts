/** Command-line parsing shared by the CLI's commands: flags, their checks, and how errors are printed. */
import type { LoadOptions } from '../node.js';
import { WEIGHT_STORAGES, type WeightStorage } from '../ops/weight-storage.js';
import { CAFFE_PREPROCESSING, TORCH_PREPROCESSING } from '../preprocess/preprocess.js';
import { loadProgressBar } from './progress.js';

/** A mistake in the command line itself (printed with a pointer to --help). */
export class UsageError extends Error {}

export interface Parsed { command: string; positional: string[]; flags: Map<string, string | true> }

const VALUE_FLAGS = new Set(['--preprocessing', '--input-size', '--crop-pct', '--class', '--out', '--list', '--batch', '--shard', '--labels', '--weights', '--top', '--input', '--shape', '--layout', '--output', '--depth', '--definition', '--precision', '--skip-blocks']);
const BOOL_FLAGS = new Set(['--resume', '--json', '--verbose', '--help', '-h', '--version', '--normalize', '--force', '--verify']);

export function parse(argv: string[]): Parsed {
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

/** --skip-blocks a,b -> ['a', 'b'] (names are checked by the model). */
export function skipBlocks(args: Parsed): string[] | undefined {
  const v = args.flags.get('--skip-blocks');
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

/** The loadResNet options the flags ask for (--weights, --depth, --definition, --precision), checked. */
export function loadOptions(args: Parsed): LoadOptions {
  const weights = args.flags.get('--weights');
  const depth = args.flags.get('--depth');
  const definition = args.flags.get('--definition');
  if (depth !== undefined && !/^\d+$/.test(String(depth))) throw new UsageError(`--depth must be 18, 34, 50, 101 or 152, got ${depth}`);
  if (definition !== undefined && definition !== 'torchvision' && definition !== 'keras-v1') throw new UsageError(`--definition must be torchvision or keras-v1, got ${definition}`);
  const precision = args.flags.get('--precision');
  if (precision !== undefined && !WEIGHT_STORAGES.includes(precision as WeightStorage)) throw new UsageError(`--precision must be ${WEIGHT_STORAGES.join(', ')}, got ${precision}`);
  const size = args.flags.get('--input-size');
  const sizes = typeof size === 'string' ? /^(\d+)(?:x(\d+))?$/.exec(size) : undefined;
  if (size !== undefined && !sizes) throw new UsageError(`--input-size must be N or HxW (e.g. 288 or 256x320), got ${size}`);
  const cropPct = args.flags.get('--crop-pct');
  if (cropPct !== undefined && !(Number(cropPct) > 0 && Number(cropPct) <= 1)) throw new UsageError(`--crop-pct must be a number in (0, 1], got ${cropPct}`);
  const preprocessing = args.flags.get('--preprocessing');
  if (preprocessing !== undefined && preprocessing !== 'caffe' && preprocessing !== 'torch') throw new UsageError(`--preprocessing must be caffe or torch, got ${preprocessing}`);
  return {
    preprocessing: preprocessing === 'caffe' ? CAFFE_PREPROCESSING : preprocessing === 'torch' ? TORCH_PREPROCESSING : undefined,
    inputSize: sizes ? [Number(sizes[1]), Number(sizes[2] ?? sizes[1])] : undefined,
    cropPct: cropPct === undefined ? undefined : Number(cropPct),
    source: typeof weights === 'string' ? weights : undefined,
    depth: depth === undefined ? undefined : Number(depth),
    definition: definition as 'torchvision' | 'keras-v1' | undefined,
    precision: precision as WeightStorage | undefined,
    onProgress: args.flags.has('--json') ? undefined : loadProgressBar(),
  };
}

/** One error on stderr, on one line (with the stack under --verbose). */
export function report(err: unknown, verbose: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`webgpu-resnet: error: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (verbose && err instanceof Error && err.stack) console.error(err.stack);
}

/** Command-line parsing shared by the CLI's commands: flags, their checks, and how errors are printed. */
import { parseArgs } from 'node:util';
import type { LoadOptions } from '../node.js';
import { isWeightStorage, WEIGHT_STORAGES, type WeightStorage } from '../kernels/weight-storage.js';
import { namedPreprocessing } from '../preprocess/preprocess.js';
import { loadProgressBar } from './progress.js';

/** A mistake in the command line itself (printed with a pointer to --help; exit code 2). */
export class UsageError extends Error {}

export interface Parsed {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

/** 'strings': a flag that may be given several times (its values joined by newlines in Parsed.flags). */
type FlagKind = 'string' | 'boolean' | 'strings';
/** What loading a model takes (every command that loads one), and running it on the GPU. */
const LOAD: Record<string, FlagKind> = {
  '--weights': 'string',
  '--depth': 'string',
  '--definition': 'string',
  '--precision': 'string',
  '--preprocessing': 'string',
  '--input-size': 'string',
  '--crop-pct': 'string',
  '--verbose': 'boolean',
  '--json': 'boolean',
};
const RUN: Record<string, FlagKind> = { ...LOAD, '--conv-strategy': 'string', '--head': 'string' };
const FOLDER_RUN: Record<string, FlagKind> = {
  '--list': 'string',
  '--batch': 'string',
  '--out': 'string',
  '--resume': 'boolean',
  '--shard': 'string',
  '--skip-blocks': 'string',
};

/** The flags each command takes: anything else is a UsageError naming the flag. */
export const COMMAND_FLAGS: Record<string, Record<string, FlagKind>> = {
  classify: { ...RUN, ...FOLDER_RUN, '--top-k': 'string' },
  embed: { ...RUN, ...FOLDER_RUN, '--normalize': 'boolean' },
  cam: {
    ...RUN,
    '--list': 'string',
    '--class-index': 'string',
    '--top-k': 'string',
    '--out': 'string',
    '--skip-blocks': 'string',
  },
  infer: {
    ...RUN,
    '--input': 'string',
    '--shape': 'string',
    '--layout': 'string',
    '--output': 'string',
    '--skip-blocks': 'string',
  },
  blocks: RUN,
  info: RUN,
  eval: { ...RUN, '--labels': 'string', '--batch': 'string', '--list': 'string' },
  convert: { ...LOAD, '--out': 'string', '--head': 'string' },
  train: {
    ...RUN,
    '--out': 'string',
    '--epochs': 'string',
    '--val': 'string',
    '--augment': 'string',
    '--head-only': 'boolean',
  },
  fetch: { '--verify': 'boolean', '--force': 'boolean', '--json': 'boolean', '--verbose': 'boolean' },
  serve: {
    ...LOAD,
    '--conv-strategy': 'string',
    '--model': 'strings',
    '--host': 'string',
    '--port': 'string',
    '--grpc-port': 'string',
    '--max-batch': 'string',
    '--max-queue-delay-ms': 'string',
    '--max-queue': 'string',
    '--max-body-mb': 'string',
    '--request-timeout-ms': 'string',
    '--drain-timeout': 'string',
  },
};

/** Older or shorter names, accepted for the canonical ones (the API's names: topK, classIndex). */
const ALIASES: Record<string, string> = { '--top': '--top-k', '--class': '--class-index' };

/** Parses `argv` for its command (node:util parseArgs, strict): the command's own flags only. */
export function parse(argv: string[]): Parsed {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  const command = first >= 0 ? argv[first]! : '';
  const given = argv.filter((_, i) => i !== first);
  if (given.some((a) => a === '--help' || a === '-h') || command === 'help')
    return { command: '', positional: [], flags: new Map([['--help', true]]) };
  if (command === '' && given.includes('--version'))
    return { command: '', positional: [], flags: new Map([['--version', true]]) };
  if (command === '') throw new UsageError('no command given');
  const allowed = COMMAND_FLAGS[command];
  if (!allowed) throw new UsageError(`unknown command ${command}`);
  // an alias stands for its flag where the command takes that flag (else the error names what was typed)
  const rest = given.map((a) => {
    const [name, value] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('='))] : [a, ''];
    return ALIASES[name] && allowed[ALIASES[name]] ? `${ALIASES[name]}${value}` : a;
  });
  const options = Object.fromEntries(
    Object.entries(allowed).map(([flag, type]) => [
      flag.slice(2),
      type === 'strings' ? { type: 'string' as const, multiple: true } : { type },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    const flag = /'(-{1,2}[\w-]+)/.exec((err as Error).message)?.[1];
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) throw new UsageError(`${command} does not take ${flag}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag)
      throw new UsageError(`${flag} ${allowed[flag] === 'boolean' ? 'takes no value' : 'needs a value'}`);
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const flags = new Map<string, string | true>();
  for (const [name, value] of Object.entries(parsed.values))
    if (value !== undefined && value !== false)
      flags.set(`--${name}`, Array.isArray(value) ? value.join('\n') : (value as string | true));
  return { command, positional: parsed.positionals, flags };
}

/** A numeric flag's value (`fallback` when absent); a value `valid` refuses is a UsageError: "<flag> must be <what>,
 * got <value>". */
export function numberFlag(
  args: Parsed,
  flag: string,
  fallback: number,
  valid: (n: number) => boolean,
  what: string,
): number {
  const raw = args.flags.get(flag);
  const n = raw === undefined ? fallback : Number(raw);
  if (!valid(n)) throw new UsageError(`${flag} must be ${what}, got ${raw}`);
  return n;
}

/** A flag that takes a positive integer (--batch, --top-k, --epochs). */
export const positiveIntegerFlag = (args: Parsed, flag: string, fallback: number): number =>
  numberFlag(args, flag, fallback, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');

/** --skip-blocks a,b -> ['a', 'b'] (names are checked by the model). */
export function skipBlocks(args: Parsed): string[] | undefined {
  const v = args.flags.get('--skip-blocks');
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

/** The loadResNet options the flags ask for (--weights, --depth, --definition, --precision), checked. */
export function loadOptions(args: Parsed): LoadOptions {
  const weights = args.flags.get('--weights');
  const depth = args.flags.get('--depth');
  const definition = args.flags.get('--definition');
  if (depth !== undefined && !/^\d+$/.test(String(depth)))
    throw new UsageError(`--depth must be 18, 34, 50, 101 or 152, got ${depth}`);
  if (definition !== undefined && definition !== 'torchvision' && definition !== 'keras-v1')
    throw new UsageError(`--definition must be torchvision or keras-v1, got ${definition}`);
  const precision = args.flags.get('--precision');
  if (precision !== undefined && !isWeightStorage(precision))
    throw new UsageError(`--precision must be ${WEIGHT_STORAGES.join(', ')}, got ${precision}`);
  const size = args.flags.get('--input-size');
  const sizes = typeof size === 'string' ? /^(\d+)(?:x(\d+))?$/.exec(size) : undefined;
  if (size !== undefined && !sizes)
    throw new UsageError(`--input-size must be N or HxW (e.g. 288 or 256x320), got ${size}`);
  const cropPct = args.flags.get('--crop-pct');
  if (cropPct !== undefined && !(Number(cropPct) > 0 && Number(cropPct) <= 1))
    throw new UsageError(`--crop-pct must be a number in (0, 1], got ${cropPct}`);
  const convStrategy = args.flags.get('--conv-strategy');
  if (convStrategy !== undefined && convStrategy !== 'tiled' && convStrategy !== 'simd')
    throw new UsageError(`--conv-strategy must be tiled or simd, got ${convStrategy}`);
  const preprocessing = args.flags.get('--preprocessing');
  const named = typeof preprocessing === 'string' ? namedPreprocessing(preprocessing) : undefined;
  if (preprocessing !== undefined && !named)
    throw new UsageError(`--preprocessing must be caffe or torch, got ${preprocessing}`);
  return {
    preprocessing: named,
    inputSize: sizes ? [Number(sizes[1]), Number(sizes[2] ?? sizes[1])] : undefined,
    cropPct: cropPct === undefined ? undefined : Number(cropPct),
    source: typeof weights === 'string' ? weights : undefined,
    depth: depth === undefined ? undefined : Number(depth),
    definition: definition as 'torchvision' | 'keras-v1' | undefined,
    precision: precision as WeightStorage | undefined,
    convStrategy: convStrategy as 'tiled' | 'simd' | undefined,
    head: typeof args.flags.get('--head') === 'string' ? (args.flags.get('--head') as string) : undefined,
    onProgress: args.flags.has('--json') ? undefined : loadProgressBar(),
  };
}

/** One error on stderr, on one line (with the stack under --verbose). */
export function report(err: unknown, verbose: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`webgpu-resnet: error: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (verbose && err instanceof Error && err.stack) console.error(err.stack);
}

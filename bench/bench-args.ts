/** The command line of `npm run bench` (bench/bench.ts): the networks it knows, its peers and options. */
import { readFile } from 'node:fs/promises';
import type { Precision } from '../src/api/options.js';
import type { ConvStrategy } from '../src/kernels/conv-types.js';

/** Full-size family members (timm and torchvision state_dict names and shapes, scripts/family-torch.py --shapes). */
export const FAMILY: Record<string, Array<[string, number[]]>> = JSON.parse(
  await readFile(new URL('../bench/family-shapes.json', import.meta.url) /* from bench/ and from dist/ */, 'utf8'),
);
const MODELS = [
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  ...Object.keys(FAMILY).map((m) => `pt-${m}`),
  'keras-resnet50v2',
];
const PEERS = ['tfjs', 'ort'];
const WINOGRAD_ARGS: Record<string, boolean | 2 | 4> = { on: true, off: false, 2: 2, 4: 4 };

export interface Args {
  inputSize: number;
  precision: Precision;
  model: string;
  batches: number[];
  runs: number;
  warmup: number;
  peers: string[];
  weights: string;
  random: boolean;
  json: boolean;
  profile: boolean;
  convStrategy?: ConvStrategy;
  winograd?: boolean | 2 | 4;
  autotune?: boolean | number[];
}

export function parseArgs(argv: string[]): Args {
  const args: Args = {
    inputSize: 224,
    precision: 'f32',
    model: 'resnet50',
    batches: [1],
    runs: 10,
    warmup: 2,
    peers: ['tfjs', 'ort'],
    weights: '',
    random: false,
    json: false,
    profile: false,
  };
  const usage =
    '(--model resnet18|34|50|101|152 --precision f32|f16|int8 --batch 1,8 --runs N --warmup N --peers tfjs,ort|none --weights model.json --random-weights --input-size N --conv-strategy tiled|simd --winograd on|off|2|4 --autotune on|off|1,8 --profile --json)';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!,
      v = argv[i + 1];
    const int = (s: string | undefined) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs non-negative integers, got ${s}`);
      return n;
    };
    if (a === '--model') {
      args.model = v ?? '';
      i++;
    } else if (a === '--precision') {
      args.precision = v as Precision;
      i++;
    } else if (a === '--batch') {
      args.batches = (v ?? '')
        .split(',')
        .map(int)
        .filter((n) => n > 0);
      i++;
    } else if (a === '--runs') {
      args.runs = Math.max(1, int(v));
      i++;
    } else if (a === '--warmup') {
      args.warmup = int(v);
      i++;
    } else if (a === '--peers') {
      args.peers = (v ?? '').split(',').filter((p) => p && p !== 'none');
      i++;
    } else if (a === '--weights') {
      args.weights = v!;
      i++;
    } else if (a === '--random-weights') args.random = true;
    else if (a === '--input-size') {
      args.inputSize = Math.max(1, int(v));
      i++;
    } else if (a === '--conv-strategy') {
      args.convStrategy = v as ConvStrategy;
      i++;
    } else if (a === '--winograd') {
      if (!Object.hasOwn(WINOGRAD_ARGS, v ?? '')) throw new Error(`--winograd on|off|2|4, got ${v}`);
      args.winograd = WINOGRAD_ARGS[v!];
      i++;
    } else if (a === '--autotune') {
      args.autotune = v === 'on' ? true : v === 'off' ? false : (v ?? '').split(',').map(int);
      i++;
    } else if (a === '--json') args.json = true;
    else if (a === '--profile') args.profile = true;
    else throw new Error(`unknown option ${a} ${usage}`);
  }
  if (!args.batches.length) throw new Error('--batch needs at least one positive batch size');
  if (!MODELS.includes(args.model)) throw new Error(`--model ${args.model}: one of ${MODELS.join(', ')}`);
  for (const p of args.peers)
    if (!PEERS.includes(p)) throw new Error(`unknown peer ${p} (${PEERS.join(', ')}, or none)`);
  if (!args.model.includes('resnet50') && args.peers.includes('tfjs'))
    args.peers = args.peers.filter((p) => p !== 'tfjs');
  return args;
}

/**
 * npm run bench [-- --batch 1,8 --runs 10 --warmup 2 --peers tfjs|none --random-weights --profile --json]
 * Runs webgpu-resnet and its peers on the same adapter in one process: median end-to-end latency
 * (input upload, every dispatch, readback of the outputs), images/s, and the ratio peer / engine.
 * --random-weights: the Keras ResNet-50 topology with synthetic weights (for machines the 100 MB of
 * pretrained weights cannot reach); --weights: another model.json.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { InMemoryModel } from '../src/load.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { defaultModelPath, loadResNet } from '../src/node.js';
import { describeAdapter } from '../src/runtime/device.js';
import { tfjsWebGPU, type Peer } from './peers/tfjs-webgpu.js';
import { randomWeights } from './random-weights.js';

interface Args { batches: number[]; runs: number; warmup: number; peers: string[]; weights: string; random: boolean; json: boolean; profile: boolean }

function parseArgs(argv: string[]): Args {
  const args: Args = { batches: [1], runs: 10, warmup: 2, peers: ['tfjs'], weights: '', random: false, json: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, v = argv[i + 1];
    const int = (s: string | undefined) => { const n = Number(s); if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs non-negative integers, got ${s}`); return n; };
    if (a === '--batch') { args.batches = (v ?? '').split(',').map(int).filter((n) => n > 0); i++; }
    else if (a === '--runs') { args.runs = Math.max(1, int(v)); i++; }
    else if (a === '--warmup') { args.warmup = int(v); i++; }
    else if (a === '--peers') { args.peers = (v ?? '').split(',').filter((p) => p && p !== 'none'); i++; }
    else if (a === '--weights') { args.weights = v!; i++; }
    else if (a === '--random-weights') args.random = true;
    else if (a === '--json') args.json = true;
    else if (a === '--profile') args.profile = true;
    else throw new Error(`unknown option ${a} (--batch 1,8 --runs N --warmup N --peers tfjs|none --weights model.json --random-weights --profile --json)`);
  }
  if (!args.batches.length) throw new Error('--batch needs at least one positive batch size');
  return args;
}

async function modelFiles(args: Args): Promise<InMemoryModel> {
  const path = args.weights || defaultModelPath();
  const json = JSON.parse(await readFile(path, 'utf8'));
  if (args.random) return randomWeights(json);
  const weights: Record<string, Uint8Array> = {};
  for (const p of json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths)) weights[p] = new Uint8Array(await readFile(join(dirname(path), p)));
  return { modelJson: json, weights };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function time(runs: number, warmup: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
}

interface Row {
  runtime: string; batch: number; medianMs: number; minMs: number; maxMs: number; imagesPerSecond: number; loadMs: number; firstRunMs: number;
  gpuBytes?: number; ratioVsEngine?: number;
  /** Against the engine's output on the same input: max |probability difference| / max probability, and top-1 agreement. */
  agreement?: { maxRelDiff: number; top1Agree: number; images: number };
}

const engineOutputs = new Map<number, Float32Array>();
function agreement(batch: number, got: Float32Array): Row['agreement'] {
  const ours = engineOutputs.get(batch)!;
  let maxAbsDiff = 0, scale = 0, top1Agree = 0;
  const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));
  for (let b = 0; b < batch; b++) {
    const a = ours.subarray(b * 1000, (b + 1) * 1000), p = got.subarray(b * 1000, (b + 1) * 1000);
    for (let i = 0; i < 1000; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - p[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    if (argmax(a) === argmax(p)) top1Agree++;
  }
  return { maxRelDiff: maxAbsDiff / scale, top1Agree, images: batch };
}

const args = parseArgs(process.argv.slice(2));
const log = (s: string) => { if (!args.json) console.error(s); };
const files = await modelFiles(args);
const gpu = await acquireNodeDevice();
const adapter = describeAdapter(gpu.adapter).name;
log(`adapter: ${adapter}; ResNet-50 (Keras topology, ${args.random ? 'random' : 'pretrained'} weights), batch ${args.batches.join(',')}, median of ${args.runs} runs after ${args.warmup} warm-up`);
const inputFor = (batch: number) => {
  const input = new Float32Array(batch * 224 * 224 * 3);
  for (let i = 0; i < input.length; i++) input[i] = ((i * 7919) % 255) - 120;
  return input;
};
const rows: Row[] = [];
let profile: Array<{ label: string; ms: number; flops: number; gflops: number; share: number }> | undefined;
let engineInfo: unknown;

{
  const t0 = performance.now();
  const model = await loadResNet({ source: files, device: gpu.device });
  const loadMs = performance.now() - t0;
  engineInfo = { ...model.info, adapter };
  for (const batch of args.batches) {
    const input = inputFor(batch);
    const t1 = performance.now();
    engineOutputs.set(batch, await model.infer(input, { batch }));
    const firstRunMs = performance.now() - t1;
    const r = await time(args.runs, args.warmup, () => model.infer(input, { batch }));
    rows.push({ runtime: 'webgpu-resnet', batch, ...r, imagesPerSecond: (1000 * batch) / r.medianMs, loadMs, firstRunMs, gpuBytes: model.gpuBytes });
    log(`  webgpu-resnet batch ${batch}: ${r.medianMs.toFixed(1)} ms`);
  }
  if (args.profile) {
    const steps = await model.profile(args.batches[0]);
    const total = steps.reduce((a, s) => a + s.ms, 0);
    profile = steps.map((s) => ({ ...s, gflops: s.flops / s.ms / 1e6, share: s.ms / total }));
    log(`\nprofile, batch ${args.batches[0]} (GPU time per dispatch, total ${total.toFixed(2)} ms), top 15:\n| layer | ms | GFLOP/s | share |\n| --- | --- | --- | --- |`);
    for (const s of [...profile].sort((a, b) => b.ms - a.ms).slice(0, 15)) log(`| ${s.label} | ${s.ms.toFixed(3)} | ${s.gflops.toFixed(1)} | ${(100 * s.share).toFixed(1)}% |`);
  }
  model.dispose();
}

for (const peerName of args.peers) {
  let peer: Peer;
  if (peerName === 'tfjs') peer = await tfjsWebGPU(gpu.gpu, files);
  else throw new Error(`unknown peer ${peerName} (tfjs)`);
  const loadMs = await peer.load();
  for (const batch of args.batches) {
    const input = inputFor(batch);
    const t1 = performance.now();
    const output = await peer.run(input, batch);
    const firstRunMs = performance.now() - t1;
    const r = await time(args.runs, args.warmup, () => peer.run(input, batch));
    const agree = agreement(batch, output);
    rows.push({ runtime: peer.name, batch, ...r, imagesPerSecond: (1000 * batch) / r.medianMs, loadMs, firstRunMs, agreement: agree });
    log(`  ${peer.name} batch ${batch}: ${r.medianMs.toFixed(1)} ms; outputs vs engine: max |diff| / max ${agree!.maxRelDiff.toExponential(2)}, top-1 ${agree!.top1Agree}/${batch}`);
  }
  await peer.dispose();
}

for (const row of rows) row.ratioVsEngine = row.medianMs / rows.find((r) => r.runtime === 'webgpu-resnet' && r.batch === row.batch)!.medianMs;
const report = { adapter, model: 'resnet50 (Keras topology)', weights: args.random ? 'random' : 'pretrained', runs: args.runs, warmup: args.warmup, date: new Date().toISOString(), engine: engineInfo, results: rows, profile };
if (args.json) {
  console.log(JSON.stringify(report));
} else {
  console.log(`\n| runtime | batch | median ms | images/s | time / engine's | load ms | first run ms |\n| --- | --- | --- | --- | --- | --- | --- |`);
  for (const r of rows) {
    console.log(`| ${r.runtime} | ${r.batch} | ${r.medianMs.toFixed(1)} | ${r.imagesPerSecond.toFixed(2)} | ${r.ratioVsEngine!.toFixed(2)}x | ${r.loadMs.toFixed(0)} | ${r.firstRunMs.toFixed(0)} |`);
  }
  console.log(`adapter: ${adapter}`);
}
gpu.release();
process.exit(0);

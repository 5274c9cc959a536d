/**
 * npm run bench [-- --batch 1 --runs 10 --warmup 2 --peers tfjs --weights model.json --json]
 * Runs webgpu-resnet and its peers on the same adapter in one process: median end-to-end latency
 * (input upload, every dispatch, readback of the outputs), images/s, and the ratio peer / engine.
 */
import { acquireNodeDevice } from '../src/node/gpu.js';
import { defaultModelPath, loadResNet } from '../src/node.js';
import { describeAdapter } from '../src/runtime/device.js';
import { tfjsWebGPU, type Peer } from './peers/tfjs-webgpu.js';

interface Args { batch: number; runs: number; warmup: number; peers: string[]; weights: string; json: boolean; profile: boolean }

function parseArgs(argv: string[]): Args {
  const args: Args = { batch: 1, runs: 10, warmup: 2, peers: ['tfjs'], weights: defaultModelPath(), json: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, v = argv[i + 1];
    const num = () => { const n = Number(v); if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs a non-negative integer`); i++; return n; };
    if (a === '--batch') args.batch = Math.max(1, num());
    else if (a === '--runs') args.runs = Math.max(1, num());
    else if (a === '--warmup') args.warmup = num();
    else if (a === '--peers') { args.peers = (v ?? '').split(',').filter((p) => p && p !== 'none'); i++; }
    else if (a === '--weights') { args.weights = v!; i++; }
    else if (a === '--json') args.json = true;
    else if (a === '--profile') args.profile = true;
    else throw new Error(`unknown option ${a} (--batch N --runs N --warmup N --peers tfjs|none --weights model.json --json)`);
  }
  return args;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function time(label: string, runs: number, warmup: number, fn: () => Promise<unknown>, log: (s: string) => void) {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  log(`  ${label}: ${times.map((t) => t.toFixed(0)).join(' ')} ms`);
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
}

const args = parseArgs(process.argv.slice(2));
const log = (s: string) => { if (!args.json) console.error(s); };
const input = new Float32Array(args.batch * 224 * 224 * 3);
for (let i = 0; i < input.length; i++) input[i] = ((i * 7919) % 255) - 120;

const gpu = await acquireNodeDevice();
const adapter = describeAdapter(gpu.adapter).name;
log(`adapter: ${adapter}; ResNet-50 (Keras), batch ${args.batch}, ${args.runs} runs after ${args.warmup} warm-up`);
let profile: Array<{ label: string; ms: number; flops: number; gflops: number; share: number }> | undefined;
const results: Array<{ name: string; medianMs: number; minMs: number; maxMs: number; imagesPerSecond: number; loadMs: number; firstRunMs: number; gpuBytes?: number }> = [];

{
  const t0 = performance.now();
  const model = await loadResNet({ source: args.weights, device: gpu.device });
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  await model.infer(input, { batch: args.batch });
  const firstRunMs = performance.now() - t1;
  const r = await time('webgpu-resnet', args.runs, args.warmup, () => model.infer(input, { batch: args.batch }), log);
  results.push({ name: 'webgpu-resnet', ...r, imagesPerSecond: (1000 * args.batch) / r.medianMs, loadMs, firstRunMs, gpuBytes: model.gpuBytes });
  if (args.profile) {
    const steps = await model.profile(args.batch);
    const total = steps.reduce((a, s) => a + s.ms, 0);
    profile = steps.map((s) => ({ ...s, gflops: s.flops / s.ms / 1e6, share: s.ms / total }));
    log(`\nprofile (GPU time per dispatch, total ${total.toFixed(1)} ms):\n| layer | ms | GFLOP/s | share |\n| --- | --- | --- | --- |`);
    for (const s of [...profile].sort((a, b) => b.ms - a.ms)) log(`| ${s.label} | ${s.ms.toFixed(2)} | ${s.gflops.toFixed(2)} | ${(100 * s.share).toFixed(1)}% |`);
  }
  model.dispose();
}

for (const peerName of args.peers) {
  let peer: Peer;
  if (peerName === 'tfjs') peer = await tfjsWebGPU(gpu.gpu, args.weights);
  else throw new Error(`unknown peer ${peerName} (tfjs)`);
  const loadMs = await peer.load();
  const t1 = performance.now();
  await peer.run(input, args.batch);
  const firstRunMs = performance.now() - t1;
  const r = await time(peer.name, args.runs, args.warmup, () => peer.run(input, args.batch), log);
  results.push({ name: peer.name, ...r, imagesPerSecond: (1000 * args.batch) / r.medianMs, loadMs, firstRunMs });
  await peer.dispose();
}

const engine = results[0]!;
const report = {
  adapter, model: 'resnet50-keras', batch: args.batch, runs: args.runs, warmup: args.warmup, date: new Date().toISOString(),
  results: results.map((r) => ({ ...r, ratioVsEngine: r.medianMs / engine.medianMs })),
  profile,
};
if (args.json) {
  console.log(JSON.stringify(report));
} else {
  console.log(`\n| runtime | median ms | images/s | peer / engine | load ms | first run ms |\n| --- | --- | --- | --- | --- | --- |`);
  for (const r of report.results) {
    console.log(`| ${r.name} | ${r.medianMs.toFixed(1)} | ${r.imagesPerSecond.toFixed(2)} | ${r.ratioVsEngine.toFixed(2)}x | ${r.loadMs.toFixed(0)} | ${r.firstRunMs.toFixed(0)} |`);
  }
  console.log(`adapter: ${adapter}`);
}
gpu.release();
process.exit(0);

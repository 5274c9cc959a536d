/**
 * npm run bench [-- --model resnet50 --precision f32|f16|int8 --batch 1,8,32 --runs 10 --warmup 2 --peers tfjs,ort|none
 *                   --random-weights --weights model.json --input-size N --conv-strategy tiled|simd --winograd on|off|2|4 --autotune on|off|1,8 --profile --json]
 * Runs webgpu-resnet and its peers (TensorFlow.js's WebGPU backend, ONNX Runtime Web's WebGPU EP) on the
 * same adapter in one process: median end-to-end latency (input upload, every dispatch, readback of the
 * outputs), images/s, the ratio peer / engine, load time, time to the first result and GPU bytes.
 * Models: resnet50 is the Keras ResNet-50 (pretrained from the weights cache, or --random-weights: the same
 * topology with synthetic values, for machines the ~100 MB cannot reach); resnet18/34/101/152 are
 * torchvision ResNets with the golden generator's synthetic weights (tfjs runs only the Keras model); pt-<name> a
 * full-size family member of bench/family-shapes.json (pt-resnet50, pt-resnext50_32x4d, pt-wide_resnet50_2,
 * pt-resnet50d, pt-seresnet50), its state_dict filled by the same generator; keras-resnet50v2 Keras' ResNet50V2
 * (scripts/keras-resnet-v2.ts, the same generator; tfjs runs it too).
 * Every peer runs the same network: tfjs the same model.json, ORT an ONNX file exported from the same graph.
 */
import { createModel } from '../src/api/create.js';
import { resizeGraph } from '../src/graph/resize.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { loadFromMemory, type LoadedGraph } from '../src/loaders/formats.js';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { nodePlatform } from '../src/node.js';
import { describeAdapter } from '../src/runtime/device.js';
import { parseArgs } from './bench-args.js';
import { subject } from './bench-subject.js';
import { ortWebGPU } from './peers/ort-webgpu.js';
import type { Peer } from './peers/peer.js';
import { tfjsWebGPU } from './peers/tfjs-webgpu.js';

/** A profile row's kind: the conv's window and stride (grouped, Winograd) or the layer's last name part. */
function profileKind(s: { label: string; detail: string }): string {
  const window = /(\d+x\d+)\/(\d+)/.exec(s.detail);
  if (!window) return s.label.split(/[./]/).pop()!.replace(/\d+$/, '');
  const extra = /groups/.test(s.detail)
    ? ' grouped'
    : /GEMMs|winograd/i.test(`${s.label} ${s.detail}`)
      ? ' Winograd'
      : '';
  return `conv ${window[1]}/${window[2]}${extra}`;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

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
  runtime: string;
  batch: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  imagesPerSecond: number;
  loadMs: number;
  firstRunMs: number;
  gpuBytes?: number;
  ratioVsEngine?: number;
  /** Against the engine's output on the same input: max |probability difference| / max probability, and top-1 agreement. */
  agreement?: { maxRelDiff: number; top1Agree: number; images: number };
}

const engineOutputs = new Map<number, Float32Array>();
function agreement(batch: number, got: Float32Array): Row['agreement'] {
  const ours = engineOutputs.get(batch)!;
  const classes = ours.length / batch;
  let maxAbsDiff = 0,
    scale = 0,
    top1Agree = 0;
  const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));
  for (let b = 0; b < batch; b++) {
    const a = ours.subarray(b * classes, (b + 1) * classes),
      p = got.subarray(b * classes, (b + 1) * classes);
    for (let i = 0; i < classes; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - p[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    if (argmax(a) === argmax(p)) top1Agree++;
  }
  return { maxRelDiff: maxAbsDiff / scale, top1Agree, images: batch };
}

const args = parseArgs(process.argv.slice(2));
const log = (s: string) => {
  if (!args.json) console.error(s);
};
const net = await subject(args);
const gpu = await acquireNodeDevice();
const adapter = describeAdapter(gpu.adapter);
log(
  `adapter: ${adapter}; ${net.description}, ${net.weights} weights (engine: ${args.precision} storage${args.convStrategy ? `, ${args.convStrategy} kernels` : ''}${args.winograd === false ? ', no Winograd' : typeof args.winograd === 'number' ? `, Winograd F(${args.winograd}x${args.winograd},3x3) wherever it fits` : ''}), batch ${args.batches.join(',')}, median of ${args.runs} runs after ${args.warmup} warm-up`,
);
// A deterministic input in the range the model expects: caffe (about +-120) for Keras, about +-2 for torchvision.
const inputScale = args.model === 'resnet50' ? 1 : 1 / 60;
const inputFor = (batch: number) => {
  const input = new Float32Array(batch * args.inputSize * args.inputSize * 3);
  for (let i = 0; i < input.length; i++) input[i] = (((i * 7919) % 255) - 120) * inputScale;
  return input;
};
const rows: Row[] = [];
let profile:
  | Array<{ label: string; detail: string; ms: number; flops: number; gflops: number; share: number }>
  | undefined;
let engineInfo: unknown;
let firstResult: { loadMs: number; firstRunMs: number; totalMs: number; gpuBytesBatch1: number } | undefined;
let loaded: LoadedGraph;

{
  // what loadResNet does (parse, optimize, plan, upload, compile), keeping the parsed graph for the ONNX export
  const t0 = performance.now();
  loaded = await loadFromMemory(net.source);
  const model = await createModel(
    loaded,
    {
      device: gpu.device,
      precision: args.precision,
      inputSize: args.inputSize,
      ...(args.convStrategy && { convStrategy: args.convStrategy }),
      ...(args.winograd !== undefined && { winograd: args.winograd }),
      ...(args.autotune !== undefined && { autotune: args.autotune }),
    },
    nodePlatform(),
  );
  const loadMs = performance.now() - t0;
  engineInfo = { ...model.info, adapter };
  const tuned = model.info.autotune;
  if (tuned) {
    log(
      `autotune: ${tuned.shapes} GEMM shapes, ${tuned.timed} timed in ${tuned.ms.toFixed(0)} ms; ${tuned.changed.length} changed`,
    );
    for (const c of tuned.changed)
      log(
        `  batch ${c.batch} ${c.layers.join(', ')}: ${c.from} (${c.fromMs.toFixed(2)} ms) -> ${c.to} (${c.toMs.toFixed(2)} ms)`,
      );
  }
  for (const batch of args.batches) {
    const input = inputFor(batch);
    const t1 = performance.now();
    engineOutputs.set(batch, await model.infer(input, { batch }));
    const firstRunMs = performance.now() - t1;
    if (batch === 1) firstResult = { loadMs, firstRunMs, totalMs: loadMs + firstRunMs, gpuBytesBatch1: model.gpuBytes };
    const r = await time(args.runs, args.warmup, () => model.infer(input, { batch }));
    rows.push({
      runtime: 'webgpu-resnet',
      batch,
      ...r,
      imagesPerSecond: (1000 * batch) / r.medianMs,
      loadMs,
      firstRunMs,
      gpuBytes: model.gpuBytes,
    });
    log(`  webgpu-resnet batch ${batch}: ${r.medianMs.toFixed(2)} ms`);
  }
  if (args.profile) {
    const steps = await model.profile(args.batches[0]);
    const total = steps.reduce((a, s) => a + s.ms, 0);
    profile = steps.map((s) => ({ ...s, gflops: s.flops / s.ms / 1e6, share: s.ms / total }));
    log(
      `\nprofile, batch ${args.batches[0]} (GPU time per dispatch, each in its own timestamped pass; ${steps.length} dispatches, total ${total.toFixed(3)} ms), top 10:`,
    );
    log('| layer | what | ms | GFLOP/s | share |\n| --- | --- | --- | --- | --- |');
    for (const s of [...profile].sort((a, b) => b.ms - a.ms).slice(0, 10))
      log(
        `| ${s.label} | ${s.detail} | ${s.ms.toFixed(3)} | ${s.gflops.toFixed(0)} | ${(100 * s.share).toFixed(1)}% |`,
      );
    const kinds = new Map<string, number>();
    for (const s of profile) kinds.set(profileKind(s), (kinds.get(profileKind(s)) ?? 0) + s.ms);
    log('\n| kind of dispatch | ms | share |\n| --- | --- | --- |');
    for (const [kind, ms] of [...kinds].sort((a, b) => b[1] - a[1]))
      log(`| ${kind} | ${ms.toFixed(3)} | ${((100 * ms) / total).toFixed(1)}% |`);
  }
  model.dispose();
}

for (const peerName of args.peers) {
  if (peerName === 'tfjs' && args.inputSize !== 224)
    throw new Error(
      `the tfjs peer runs the Keras model.json at its fixed 224x224: use --peers ort (or none) with --input-size ${args.inputSize}`,
    );
  const peer: Peer =
    peerName === 'tfjs'
      ? await tfjsWebGPU(gpu.gpu, net.keras!)
      : await ortWebGPU(
          gpu.gpu,
          graphToOnnx(resizeGraph(loaded.graph, [args.inputSize, args.inputSize]), { inputLayout: 'nhwc' }),
          args.inputSize,
        );
  const loadMs = await peer.load();
  for (const batch of args.batches) {
    const input = inputFor(batch);
    const t1 = performance.now();
    const output = await peer.run(input, batch);
    const firstRunMs = performance.now() - t1;
    const r = await time(args.runs, args.warmup, () => peer.run(input, batch));
    const agree = agreement(batch, output);
    rows.push({
      runtime: peer.name,
      batch,
      ...r,
      imagesPerSecond: (1000 * batch) / r.medianMs,
      loadMs,
      firstRunMs,
      agreement: agree,
    });
    log(
      `  ${peer.name} batch ${batch}: ${r.medianMs.toFixed(2)} ms; outputs vs engine: max |diff| / max ${agree!.maxRelDiff.toExponential(2)}, top-1 ${agree!.top1Agree}/${batch}`,
    );
  }
  await peer.dispose();
}

for (const row of rows)
  row.ratioVsEngine = row.medianMs / rows.find((r) => r.runtime === 'webgpu-resnet' && r.batch === row.batch)!.medianMs;
const report = {
  adapter,
  model: net.description,
  weights: net.weights,
  precision: args.precision,
  runs: args.runs,
  warmup: args.warmup,
  date: new Date().toISOString(),
  engine: engineInfo,
  firstResult,
  results: rows,
  profile,
};
if (args.json) {
  console.log(JSON.stringify(report));
} else {
  console.log(
    `\n| runtime | batch | median ms | images/s | time / engine's | load ms | first run ms |\n| --- | --- | --- | --- | --- | --- | --- |`,
  );
  for (const r of rows) {
    console.log(
      `| ${r.runtime} | ${r.batch} | ${r.medianMs.toFixed(2)} | ${r.imagesPerSecond.toFixed(1)} | ${r.ratioVsEngine!.toFixed(2)}x | ${r.loadMs.toFixed(0)} | ${r.firstRunMs.toFixed(0)} |`,
    );
  }
  if (firstResult)
    console.log(
      `engine: load ${firstResult.loadMs.toFixed(0)} ms + first batch-1 result ${firstResult.firstRunMs.toFixed(0)} ms = ${firstResult.totalMs.toFixed(0)} ms; GPU bytes at batch 1 ${firstResult.gpuBytesBatch1.toLocaleString('en-US')}`,
    );
  console.log(`adapter: ${adapter}`);
}
gpu.release();
process.exit(0);

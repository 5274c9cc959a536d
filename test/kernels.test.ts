/**
 * Every kernel against its operator's float64 reference (src/operators/<op>.ts), on the cases of
 * test/kernel-cases.ts: one table per operator, one line per case. Convs run in every configuration the
 * engine can run on this adapter (both main loops on CPU adapters with subgroups, the tiled one everywhere).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type Graph, GraphBuilder } from '../src/graph/graph.js';
import type { WeightStorage } from '../src/kernels/weight-storage.js';
import { convLoweringFor } from '../src/operators/conv-algorithm.js';
import {
  add,
  avgPool,
  batchNorm,
  conv2d,
  dense,
  globalAvgPool,
  isWeighted,
  maxPool,
  softmax,
  squeezeExcite,
} from '../src/operators/index.js';
import type { Pads } from '../src/ir/tensor.js';
import { nchwToNhwc } from '../src/util/layout.js';
import { planGraph } from '../src/plan/planner.js';
import { describeAdapter } from '../src/runtime/device.js';
import { isCpuAdapter } from '../src/util/adapter.js';
import { roundToHalf } from '../src/util/half.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { loadOnnxResNet } from '../src/loaders/onnx.js';
import { releaseTestDevice, runGraph, testAdapterInfo, testDevice } from './helpers/gpu.js';
import { ortRun } from './helpers/onnx.js';
import { randomArray, referenceRun, relativeError, roundToInt8Columns } from './helpers/reference.js';
import {
  ADD_CASES,
  AVGPOOL_CASES,
  CONV_BOUND,
  CONV_CASES,
  type ConvCase,
  type ConvConfig,
  DENSE_CASES,
  F16_WINOGRAD_FACTOR,
  GLOBALAVGPOOL_CASES,
  MAXPOOL_CASES,
  SE_CASES,
  BATCHNORM_CASES,
  SOFTMAX_BOUND,
  simdConfigs,
  TILED_CONFIGS,
} from './kernel-cases.js';

afterAll(releaseTestDevice);

/** A case PyTorch computed: NCHW input n x c x h x w, AvgPool2d(k, s, p, ceil_mode, count_include_pad), NHWC output. */
interface TorchPoolCase {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  s: number;
  p: number;
  ceil: boolean;
  count: boolean;
  shape: number[];
  output: number[];
}

/** Every conv configuration the engine can run on this adapter. */
async function configurations(): Promise<ConvConfig[]> {
  const chosen = convLoweringFor(await testDevice(), await testAdapterInfo());
  return chosen.convStrategy === 'simd' ? [...TILED_CONFIGS, ...simdConfigs(chosen.subgroupSize)] : TILED_CONFIGS;
}

/** `graph` with the weights of node `only` (else of every node) as `storage` stores them: the reference of an f16 or int8 kernel. */
function rounded(graph: Graph, storage: WeightStorage, only?: string): Graph {
  if (storage === 'f32') return graph;
  const round = (w: Float32Array, cols: number) =>
    storage === 'f16' ? w.map(roundToHalf) : roundToInt8Columns(w, cols);
  const stored = (n: Graph['nodes'][number]) => isWeighted(n) && (only === undefined || n.name === only);
  const nodes = graph.nodes.map((n) =>
    stored(n) && isWeighted(n) ? { ...n, weights: round(n.weights, n.bias.length) } : n,
  );
  return { ...graph, nodes };
}

const describeConfig = (o: ConvConfig) => {
  const tiling =
    o.tiling &&
    `, ${o.tiling.tile.bm}x${4 * o.tiling.tile.bn4} tile${o.gemmShader ? ' (prefetch)' : ''}, split ${o.tiling.split}`;
  const winograd =
    o.winograd === false
      ? ', direct'
      : typeof o.winograd === 'number'
        ? `, Winograd F(${o.winograd}x${o.winograd})`
        : o.winograd
          ? ', Winograd'
          : '';
  return `${o.strategy}${tiling ?? ''}${o.weightStorage ? `, ${o.weightStorage} weights` : ''}${winograd}`;
};

const describeCase = (c: ConvCase) =>
  `${c.gather} ${c.batch}x${c.h}x${c.w}x${c.cin} -> ${c.cout}, k${c.k} s${c.stride} pad[${c.pads}]${c.residual ? ' +res' : ''}${c.relu ? ' relu' : ''}${c.groups ? `, ${c.groups} groups` : ''}${c.preact ? `, preact ${c.preact}` : ''}`;

/** The case's graph: the conv (named `conv`), reading a second 1x1 conv of the input as its residual where asked. */
function convGraph(c: ConvCase, seed: number): Graph {
  const b = new GraphBuilder('t', 'x', [c.h, c.w, c.cin]);
  const residual = c.residual
    ? b.add(
        conv2d('res', 'x', { weights: randomArray(c.cin * c.cout, seed + 3, 0.3), kernel: [1, 1], filters: c.cout }),
      )
    : undefined;
  const cing = c.cin / (c.groups ?? 1);
  const weights = randomArray(c.k * c.k * cing * c.cout, seed + 1, 1 / Math.sqrt(c.k * c.k * cing));
  const bias = randomArray(c.cout, seed + 2, 0.5);
  const p = {
    weights,
    bias,
    kernel: [c.k, c.k] as [number, number],
    filters: c.cout,
    strides: [c.stride, c.stride] as [number, number],
    groups: c.groups,
  };
  const node = conv2d('conv', 'x', { ...p, pads: c.pads, relu: c.relu });
  // a pre-activation shifting about half the values below 0, so its ReLU and the zero padding after it matter
  const preact = c.preact && {
    relu: c.preact === 'relu',
    scale: randomArray(c.cin, seed + 4, 1.5),
    shift: randomArray(c.cin, seed + 5, 0.5),
  };
  // (a residual of another shape than the output is refused here: the case needs a shape-preserving conv)
  return b.finish(b.add({ ...node, ...(residual && { residual }), ...(preact && { preact }) }));
}

async function checkConv(c: ConvCase, seed: number, configs: ConvConfig[]): Promise<void> {
  const x = randomArray(c.batch * c.h * c.w * c.cin, seed);
  const graph = convGraph(c, seed);
  const f32 = referenceRun(graph, x, c.batch);
  // the storage is pinned for the case's conv alone (its residual's conv runs in f32)
  const storedAs = (storage: WeightStorage) => referenceRun(rounded(graph, storage, 'conv'), x, c.batch);
  const want = { f32, f16: storedAs('f16'), int8: storedAs('int8') };
  for (const config of configs) {
    const options = { conv: { conv: { gather: c.gather, ...config } } };
    const got = await runGraph(graph, x, c.batch, options);
    const steps = planGraph(graph, { ...options, batch: c.batch }).steps;
    const winograd = steps.find((step) => step.algorithm?.winograd)?.algorithm?.winograd;
    const what = `${describeCase(c)} (${describeConfig(config)})`;
    if (config.weightStorage === 'f16' && winograd) {
      // F(2x2) only (F(4x4) asked for falls back to it), within a factor of the direct f16 conv's error from f32
      const [error, direct] = [relativeError(got, f32), relativeError(want.f16, f32)];
      console.log(`${what}: ${error.toExponential(2)} from f32; direct f16 ${direct.toExponential(2)}`);
      expect(winograd).toBe(2);
      expect(error, what).toBeLessThan(F16_WINOGRAD_FACTOR * direct);
    } else {
      expect(relativeError(got, want[config.weightStorage ?? 'f32']), what).toBeLessThan(CONV_BOUND);
    }
  }
}

it('runs the simd conv strategy on CPU adapters with subgroups (lavapipe), so both main loops are tested there; the tiled one everywhere', async () => {
  const info = await testAdapterInfo();
  const loops = new Set((await configurations()).map((s) => s.strategy));
  const cpuWithSubgroups = isCpuAdapter(info) && (await testDevice()).features.has('subgroups');
  console.log(`conv main loops tested on this adapter: ${[...loops].join(', ')}`);
  expect(loops.has('tiled')).toBe(true);
  expect(loops.has('simd')).toBe(cpuWithSubgroups);
});

it('names an adapter by its info strings, or (Firefox leaves them empty) by its host and the features that matter', () => {
  const adapter = (info: Partial<GPUAdapterInfo>, features: string[]) =>
    ({ info, features: new Set(features) }) as unknown as GPUAdapter;
  const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0';
  const chrome =
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
  const empty = { vendor: '', architecture: '', device: '', description: '' };
  expect(describeAdapter(adapter(empty, ['timestamp-query', 'shader-f16', 'float32-filterable']), firefox)).toBe(
    'WebGPU (Firefox), shader-f16, timestamp-query',
  );
  expect(describeAdapter(adapter({}, ['subgroups']), chrome)).toBe('WebGPU (Chrome), subgroups');
  const swiftShader = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' };
  expect(describeAdapter(adapter(swiftShader, ['subgroups']), chrome)).toBe(
    'google / swiftshader / SwiftShader Device (Subzero)',
  );
});

describe('conv kernels', () => {
  // every configuration on every case; random shapes, in both lowerings: test/fuzz.test.ts
  for (const [n, c] of CONV_CASES.entries())
    it(describeCase(c), async () => checkConv(c, 100 + n * 7, await configurations()));
});

/** Runs `graph` on the GPU (weights stored as `storage`) and compares it with the reference within `bound`. */
async function expectReference(
  graph: Graph,
  x: Float32Array,
  batch: number,
  bound: number,
  what: string,
  storage: WeightStorage = 'f32',
) {
  const got = await runGraph(graph, x, batch, storage === 'f32' ? {} : { weightStorage: storage });
  const error = relativeError(got, referenceRun(rounded(graph, storage), x, batch));
  if (bound === 0) expect(error, what).toBe(0);
  else expect(error, what).toBeLessThan(bound);
}

describe('pooling, dense, softmax, add+relu', () => {
  it('max pool 3x3/2 with zero padding (Keras), ignored padding and ceil mode (PyTorch), vec4 and scalar channels', async () => {
    for (const { h, w, c, padValue, pads, ceil, bound } of MAXPOOL_CASES) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const pool = maxPool('pool', 'x', { size: [3, 3], strides: [2, 2], pads, padValue, ceilMode: ceil });
      const graph = b.finish(b.add(pool));
      const ceilOut = (n: number, before: number, after: number) => Math.ceil((n + before + after - 3) / 2) + 1;
      if (ceil)
        expect(graph.shapes.get('pool')).toEqual([ceilOut(h, pads[0], pads[2]), ceilOut(w, pads[1], pads[3]), c]);
      const what = `${h}x${w}x${c} ${padValue}${ceil ? ' ceil' : ''}`;
      await expectReference(graph, randomArray(2 * h * w * c, h + c), 2, bound, what);
    }
  });

  it("average pool k x k / s, PyTorch ceil_mode and count_include_pad (ResNet-D's shortcut), vec4 and scalar channels", async () => {
    for (const { h, w, c, k, s, pads, ceil, count, bound } of AVGPOOL_CASES) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const p = {
        size: [k, k] as [number, number],
        strides: [s, s] as [number, number],
        pads,
        ceilMode: ceil,
        countIncludePad: count,
      };
      const graph = b.finish(b.add(avgPool('pool', 'x', p)));
      await expectReference(
        graph,
        randomArray(2 * h * w * c, h + c),
        2,
        bound,
        `${h}x${w}x${c} k${k} s${s} [${pads}] ceil ${ceil} count ${count}`,
      );
    }
  });

  it('average pool: the engine and the reference against PyTorch 1.13 (test/fixtures/avgpool-torch.json)', async () => {
    const { cases } = JSON.parse(readFileSync('test/fixtures/avgpool-torch.json', 'utf8')) as {
      cases: TorchPoolCase[];
    };
    for (const t of cases) {
      // x[i] = sin(0.37 i) in NCHW, as scripts/avgpool-torch.py made it, here NHWC
      const nchw = Float32Array.from({ length: t.n * t.c * t.h * t.w }, (_, i) => Math.sin(0.37 * i));
      const x = nchwToNhwc(nchw, t.n, t.c, t.h, t.w);
      const b = new GraphBuilder('t', 'x', [t.h, t.w, t.c]);
      const pads: Pads = [t.p, t.p, t.p, t.p];
      const p = {
        size: [t.k, t.k] as [number, number],
        strides: [t.s, t.s] as [number, number],
        pads,
        ceilMode: t.ceil,
        countIncludePad: t.count,
      };
      const graph = b.finish(b.add(avgPool('pool', 'x', p)));
      const torch = Float32Array.from(t.output);
      const what = `${t.n}x${t.c}x${t.h}x${t.w} k${t.k} s${t.s} p${t.p} ceil ${t.ceil} count ${t.count}`;
      expect(graph.shapes.get('pool'), what).toEqual([t.shape[1], t.shape[2], t.shape[3]]);
      expect(relativeError(referenceRun(graph, x, t.n), torch), what).toBeLessThan(1e-6);
      expect(relativeError(await runGraph(graph, x, t.n), torch), what).toBeLessThan(1e-6);
    }
  });

  it('average pool through ONNX: the operator writes it, the loader reads it back, the engine agrees with onnxruntime', async () => {
    const b = new GraphBuilder('avg', 'x', [11, 9, 3]);
    const weights = randomArray(3 * 3 * 3 * 8, 5, 0.3);
    const conv = b.add(conv2d('conv', 'x', { weights, kernel: [3, 3], filters: 8, pads: [1, 1, 1, 1], relu: true }));
    const p = { size: [3, 3] as [number, number], strides: [2, 2] as [number, number], ceilMode: true };
    const pool = b.add(avgPool('pool', conv, { ...p, pads: [1, 1, 1, 1], countIncludePad: false }));
    const graph = b.finish(pool);
    const nchw = randomArray(2 * 3 * 11 * 9, 11);
    const ort = await ortRun(graph, nchw, { batch: 2, size: [11, 9], output: 'pool' }); // NCHW
    const [h, w, c] = graph.shapes.get('pool')!;
    const got = await runGraph(graph, nchwToNhwc(nchw, 2, 3, 11, 9), 2);
    expect(relativeError(got, nchwToNhwc(ort, 2, c, h, w))).toBeLessThan(1e-5);
    const loaded = loadOnnxResNet(graphToOnnx(graph, { producer: 'webgpu-resnet tests' }), 'memory:avgpool.onnx');
    const read = loaded.nodes.find((n) => n.op === 'avgpool');
    expect(read).toMatchObject({
      size: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceilMode: true,
      countIncludePad: false,
    });
  });

  it('global average pool', async () => {
    for (const { h, w, c, bound } of GLOBALAVGPOOL_CASES) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const graph = b.finish(b.add(globalAvgPool('gap', 'x')));
      await expectReference(graph, randomArray(3 * h * w * c, c), 3, bound, `${h}x${w}x${c}`);
    }
  });

  it('dense 2048 -> 1000 and odd sizes, then softmax; f16 and int8 weights against the reference with the weights rounded the same way', async () => {
    for (const { inF, units, batch, bound } of DENSE_CASES) {
      const x = randomArray(batch * inF, inF);
      const weights = randomArray(inF * units, units, 1 / Math.sqrt(inF));
      const b = new GraphBuilder('t', 'x', [1, 1, inF]);
      const d = b.add(dense('fc', 'x', { weights, bias: randomArray(units, 7, 0.1), units }));
      for (const storage of ['f32', 'f16', 'int8'] as const) {
        await expectReference(b.finish(d), x, batch, bound, `dense ${inF}->${units}, ${storage} weights`, storage);
      }
      await expectReference(b.finish(b.add(softmax('sm', d))), x, batch, SOFTMAX_BOUND, `softmax ${units}`);
    }
  });

  it('standalone add + relu', async () => {
    for (const { h, w, c, relu, bound } of ADD_CASES) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      // a = x * 1 (a 1x1 identity conv), b = x
      const eye = new Float32Array(c * c);
      for (let i = 0; i < c; i++) eye[i * c + i] = 1;
      const a = b.add(conv2d('id', 'x', { weights: eye, kernel: [1, 1], filters: c }));
      const graph = b.finish(b.add(add('add', a, 'x', relu)));
      await expectReference(graph, randomArray(2 * h * w * c, c), 2, bound, `${h}x${w}x${c}`);
    }
  });

  it('standalone batchnorm (+ relu), with no conv before it (pre-activation ResNets)', async () => {
    for (const [n, { h, w, c, relu: withRelu, bound }] of BATCHNORM_CASES.entries()) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      // (the ReLU as the passes fuse it: runGraph runs the graph as given)
      const bn = b.add({
        ...batchNorm('bn', 'x', {
          gamma: randomArray(c, n + 1, 1),
          beta: randomArray(c, n + 2, 0.5),
          mean: randomArray(c, n + 3, 0.5),
          variance: randomArray(c, n + 4, 0.4).map((v) => 0.5 + Math.abs(v)),
          epsilon: 1e-5,
        }),
        relu: withRelu,
      });
      const graph = b.finish(bn);
      await expectReference(graph, randomArray(2 * h * w * c, c + 9), 2, bound, `${h}x${w}x${c}`);
    }
  });

  it("squeeze-and-excitation gate and the gated add (a conv's output scaled per channel, plus the shortcut)", async () => {
    for (const [n, { h, w, c, rd, relu, bound }] of SE_CASES.entries()) {
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const y = b.add(conv2d('conv', 'x', { weights: randomArray(c * c, n + 1, 0.3), kernel: [1, 1], filters: c }));
      const gate = b.add(
        squeezeExcite('se', y, {
          fc1: randomArray(c * rd, n + 2, 1 / Math.sqrt(c)),
          fc1Bias: randomArray(rd, n + 3, 0.2),
          fc2: randomArray(rd * c, n + 4, 2 / Math.sqrt(rd)),
          fc2Bias: randomArray(c, n + 5, 0.5),
        }),
      );
      const graph = b.finish(b.add(add('add', y, 'x', relu, gate)));
      await expectReference(graph, randomArray(2 * h * w * c, c + 7), 2, bound, `${h}x${w}x${c} through ${rd}`);
    }
  });
});

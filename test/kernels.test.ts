/**
 * Every kernel against the plain TypeScript reference on random inputs: odd sizes, sizes that are not
 * multiples of the tile, channels that are not multiples of 4, strides 1 and 2, padding, batch > 1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Pads } from '../src/graph/ir.js';
import type { ConvBuildOptions } from '../src/ops/conv2d.js';
import { convLoweringFor, type ConvGather, type ConvOverride, type ConvStrategy } from '../src/plan/conv-algorithm.js';
import { planGraph } from '../src/plan/planner.js';
import { TILES } from '../src/ops/conv-tiling.js';
import prefetchGemm from '../bench/kernels/conv_gemm_prefetch.wgsl';
import {
  conv2dRef,
  denseRef,
  globalAvgPoolRef,
  maxPoolRef,
  randomArray,
  relativeError,
  roundToInt8Columns,
  softmaxRef,
} from './helpers/reference.js';
import { describeAdapter, isCpuAdapter } from '../src/runtime/device.js';
import { roundToHalf } from '../src/util/half.js';
import { releaseTestDevice, runGraph, testAdapterInfo, testDevice } from './helpers/gpu.js';

afterAll(releaseTestDevice);

/** One conv configuration: a pinned decision (src/plan/conv-algorithm.ts) and how the kernels are built. */
type ConvConfig = ConvOverride & ConvBuildOptions & { strategy: ConvStrategy };

/**
 * The configuration matrix: every conv configuration the engine can run on this adapter, each checked on
 * every fixed case below. The tiled loop with the tiling the planner chooses and with each tile shape,
 * with and without split-K (splits that do not divide the K steps evenly, and more splits than steps),
 * the experimental main loop, each weight storage with and without split-K; the simd loop (CPU adapters
 * with subgroups) in each storage.
 */
async function configurations(): Promise<ConvConfig[]> {
  const chosen = convLoweringFor(await testDevice(), await testAdapterInfo());
  const tiled: ConvConfig[] = [
    { strategy: 'tiled' },
    // Winograd where it fits (3x3, stride 1, padded by 1, f32, no split-K pinned): the tiled loop takes it
    // for images of 16 or more 2x2 tiles; forced here on the small cases too, both output tiles, and the direct GEMM
    { strategy: 'tiled', winograd: true },
    { strategy: 'tiled', winograd: 4 },
    { strategy: 'tiled', winograd: false },
    { strategy: 'tiled', tiling: { tile: TILES.large, split: 1 } },
    { strategy: 'tiled', tiling: { tile: TILES.large, split: 2 } },
    { strategy: 'tiled', tiling: { tile: TILES.medium, split: 3 } },
    { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 2 } },
    { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 2 } },
    { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 1 }, winograd: 2 },
    { strategy: 'tiled', tiling: { tile: TILES.skinny, split: 1 }, winograd: 4 },
    // the experimental main loop in bench/kernels/ (register prefetch) must compute the same
    { strategy: 'tiled', tiling: { tile: TILES.large, split: 1 }, gemmShader: prefetchGemm },
    { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 3 }, gemmShader: prefetchGemm },
    { strategy: 'tiled', weightStorage: 'f16' },
    { strategy: 'tiled', weightStorage: 'f16', winograd: 2 },
    { strategy: 'tiled', tiling: { tile: TILES.narrow, split: 2 }, weightStorage: 'f16' },
    { strategy: 'tiled', weightStorage: 'int8' },
    { strategy: 'tiled', tiling: { tile: TILES.medium, split: 3 }, weightStorage: 'int8' },
  ];
  const simd: ConvConfig[] = [
    { strategy: 'simd', subgroupSize: chosen.subgroupSize },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, winograd: 2 },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, winograd: 4 },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, winograd: false },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, weightStorage: 'f16' },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, weightStorage: 'f16', winograd: 4 },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, weightStorage: 'f16', winograd: 2 },
    { strategy: 'simd', subgroupSize: chosen.subgroupSize, weightStorage: 'int8' },
  ];
  return chosen.convStrategy === 'simd' ? [...tiled, ...simd] : tiled;
}

const describeConfig = (o: ConvConfig) =>
  (o.tiling
    ? `${o.strategy}, ${o.tiling.tile.bm}x${4 * o.tiling.tile.bn4} tile${o.gemmShader ? ' (prefetch)' : ''}, split ${o.tiling.split}`
    : `${o.strategy}`) +
  (o.weightStorage ? `, ${o.weightStorage} weights` : '') +
  (o.winograd === false
    ? ', direct'
    : typeof o.winograd === 'number'
      ? `, Winograd F(${o.winograd}x${o.winograd})`
      : o.winograd
        ? ', Winograd'
        : '');

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
  expect(
    describeAdapter(
      adapter({ vendor: '', architecture: '', device: '', description: '' }, [
        'timestamp-query',
        'shader-f16',
        'float32-filterable',
      ]),
      firefox,
    ),
  ).toBe('WebGPU (Firefox), shader-f16, timestamp-query');
  expect(describeAdapter(adapter({}, ['subgroups']), chrome)).toBe('WebGPU (Chrome), subgroups');
  expect(
    describeAdapter(
      adapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' }, [
        'subgroups',
      ]),
      chrome,
    ),
  ).toBe('google / swiftshader / SwiftShader Device (Subzero)');
});

interface ConvCase {
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pads: Pads;
  batch: number;
  residual: boolean;
  relu: boolean;
  gather: ConvGather;
}

function describeCase(c: ConvCase): string {
  return `${c.gather} ${c.batch}x${c.h}x${c.w}x${c.cin} -> ${c.cout}, k${c.k} s${c.stride} pad[${c.pads}]${c.residual ? ' +res' : ''}${c.relu ? ' relu' : ''}`;
}

async function checkConv(c: ConvCase, seed: number, configs: ConvConfig[]): Promise<void> {
  const x = randomArray(c.batch * c.h * c.w * c.cin, seed);
  const weights = randomArray(c.k * c.k * c.cin * c.cout, seed + 1, 1 / Math.sqrt(c.k * c.k * c.cin));
  const bias = randomArray(c.cout, seed + 2, 0.5);
  const b = new GraphBuilder('t', 'x', [c.h, c.w, c.cin]);
  const y = b.conv2d('conv', 'x', {
    weights,
    bias,
    kernel: [c.k, c.k],
    filters: c.cout,
    strides: [c.stride, c.stride],
    pads: c.pads,
    relu: c.relu,
  });
  let residual: Float32Array | undefined;
  let out = y;
  if (c.residual) {
    // The residual comes from a second input-independent tensor: a 1x1 conv of x, computed on the GPU too.
    const rw = randomArray(c.cin * c.cout, seed + 3, 0.3);
    const r = b.conv2d('res', 'x', { weights: rw, kernel: [1, 1], filters: c.cout, strides: [1, 1] });
    if (b.shape(r).join() !== b.shape(y).join())
      throw new Error(`${describeCase(c)}: a residual case needs a shape-preserving conv`);
    residual = conv2dRef({ data: x, batch: c.batch, h: c.h, w: c.w, c: c.cin }, rw, new Float32Array(c.cout), {
      kernel: [1, 1],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      cout: c.cout,
    }).data;
    const node = b.nodes.find((n) => n.name === 'conv')!;
    node.inputs.push(r);
    // run 'res' first, then 'conv' (the graph order must stay topological)
    b.nodes.reverse();
    out = y;
  }
  const graph = b.finish(out);
  const node = graph.nodes.find((n) => n.name === 'conv')!;
  if (node.op !== 'conv2d') throw new Error('unreachable');
  const refOptions = {
    kernel: [c.k, c.k] as [number, number],
    strides: [c.stride, c.stride] as [number, number],
    pads: c.pads,
    cout: c.cout,
    residual,
    relu: c.relu,
  };
  const want = conv2dRef({ data: x, batch: c.batch, h: c.h, w: c.w, c: c.cin }, weights, bias, refOptions);
  // f16 weights: the same conv with the weights rounded to halves, still summed in f32
  // int8 weights: the same conv with the weights rounded per output channel (the last HWIO axis)
  const wanted = {
    f32: want,
    f16: conv2dRef({ data: x, batch: c.batch, h: c.h, w: c.w, c: c.cin }, weights.map(roundToHalf), bias, refOptions),
    int8: conv2dRef(
      { data: x, batch: c.batch, h: c.h, w: c.w, c: c.cin },
      roundToInt8Columns(weights, c.cout),
      bias,
      refOptions,
    ),
  };
  for (const s of configs) {
    const options = { conv: { conv: { gather: c.gather, ...s } } };
    const got = await runGraph(graph, x, c.batch, options);
    const winograd = planGraph(graph, { ...options, batch: c.batch }).steps.find((step) => step.algorithm?.winograd)
      ?.algorithm?.winograd;
    if (s.weightStorage === 'f16' && winograd) {
      // Winograd with f16 weights rounds the transformed filters, not the filters: F(2x2) only (F(4x4) asked
      // for falls back to it), within 3 times the direct f16 conv's error from the f32 conv
      const [error, direct] = [relativeError(got, want.data), relativeError(wanted.f16.data, want.data)];
      console.log(
        `${describeCase(c)} (${describeConfig(s)}): ${error.toExponential(2)} from f32; direct f16 ${direct.toExponential(2)}`,
      );
      expect(winograd).toBe(2);
      expect(error, `${describeCase(c)} (${describeConfig(s)})`).toBeLessThan(3 * direct);
    } else {
      expect(
        relativeError(got, wanted[s.weightStorage ?? 'f32'].data),
        `${describeCase(c)} (${describeConfig(s)})`,
      ).toBeLessThan(1e-5);
    }
  }
}

describe('conv kernels', () => {
  const fixed: ConvCase[] = [
    // ResNet-like shapes (small spatial sizes to stay quick on a CPU adapter)
    {
      gather: 'rows',
      h: 23,
      w: 19,
      cin: 3,
      cout: 64,
      k: 7,
      stride: 2,
      pads: [3, 3, 3, 3],
      batch: 2,
      residual: false,
      relu: true,
    },
    {
      gather: 'window',
      h: 14,
      w: 14,
      cin: 64,
      cout: 64,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 1,
      residual: false,
      relu: true,
    },
    {
      gather: 'window',
      h: 9,
      w: 11,
      cin: 32,
      cout: 36,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 2,
      residual: true,
      relu: true,
    },
    {
      gather: 'pointwise',
      h: 7,
      w: 7,
      cin: 128,
      cout: 256,
      k: 1,
      stride: 1,
      pads: [0, 0, 0, 0],
      batch: 3,
      residual: true,
      relu: true,
    },
    {
      gather: 'pointwise',
      h: 13,
      w: 11,
      cin: 64,
      cout: 128,
      k: 1,
      stride: 2,
      pads: [0, 0, 0, 0],
      batch: 2,
      residual: false,
      relu: false,
    },
    // channels not multiples of 4, odd sizes, asymmetric padding
    {
      gather: 'pointwise',
      h: 5,
      w: 3,
      cin: 7,
      cout: 5,
      k: 1,
      stride: 1,
      pads: [0, 0, 0, 0],
      batch: 2,
      residual: true,
      relu: true,
    },
    {
      gather: 'pointwise',
      h: 9,
      w: 7,
      cin: 6,
      cout: 10,
      k: 1,
      stride: 2,
      pads: [0, 0, 0, 0],
      batch: 1,
      residual: false,
      relu: true,
    },
    {
      gather: 'window',
      h: 8,
      w: 5,
      cin: 5,
      cout: 7,
      k: 3,
      stride: 2,
      pads: [0, 1, 1, 0],
      batch: 2,
      residual: false,
      relu: false,
    },
    {
      gather: 'window',
      h: 6,
      w: 6,
      cin: 3,
      cout: 9,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 1,
      residual: false,
      relu: true,
    },
    {
      gather: 'rows',
      h: 10,
      w: 12,
      cin: 1,
      cout: 6,
      k: 5,
      stride: 1,
      pads: [2, 2, 2, 2],
      batch: 2,
      residual: false,
      relu: false,
    },
    {
      gather: 'rows',
      h: 11,
      w: 9,
      cin: 5,
      cout: 12,
      k: 3,
      stride: 2,
      pads: [1, 0, 0, 1],
      batch: 1,
      residual: false,
      relu: true,
    },
    // Winograd's tiles of 2x2 and 4x4: odd sizes (a last row or column of tiles partly outside), one pixel, outputs not a multiple of 4
    {
      gather: 'window',
      h: 7,
      w: 5,
      cin: 16,
      cout: 10,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 3,
      residual: false,
      relu: false,
    },
    {
      gather: 'window',
      h: 2,
      w: 9,
      cin: 4,
      cout: 12,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 2,
      residual: true,
      relu: true,
    },
    {
      gather: 'window',
      h: 1,
      w: 1,
      cin: 8,
      cout: 8,
      k: 3,
      stride: 1,
      pads: [1, 1, 1, 1],
      batch: 1,
      residual: false,
      relu: true,
    },
  ];
  // every configuration on every fixed case
  for (const [n, c] of fixed.entries())
    it(describeCase(c), async () => checkConv(c, 100 + n * 7, await configurations()));
  // random shapes, in both lowerings: test/fuzz.test.ts
});

describe('pooling, dense, softmax, add+relu', () => {
  it('max pool 3x3/2 with zero padding (Keras) and ignored padding (PyTorch), vec4 and scalar channels', async () => {
    for (const [h, w, c, padValue, pads] of [
      [112, 112, 64, 'zero', [1, 1, 1, 1]],
      [15, 9, 6, 'ignore', [1, 1, 1, 1]],
      [8, 7, 5, 'zero', [0, 0, 1, 1]],
      [9, 9, 8, 'ignore', [0, 0, 0, 0]],
    ] as const) {
      const batch = 2;
      const x = randomArray(batch * h * w * c, h + c);
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const y = b.maxPool('pool', 'x', { size: [3, 3], strides: [2, 2], pads: [...pads], padValue });
      const got = await runGraph(b.finish(y), x, batch);
      const want = maxPoolRef(
        { data: x, batch, h, w, c },
        { size: [3, 3], strides: [2, 2], pads: [...pads], padValue },
      );
      expect(relativeError(got, want.data), `${h}x${w}x${c} ${padValue}`).toBe(0);
    }
  });

  it('global average pool', async () => {
    for (const [h, w, c] of [
      [7, 7, 2048],
      [5, 3, 7],
      [1, 1, 4],
    ] as const) {
      const batch = 3;
      const x = randomArray(batch * h * w * c, c);
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      const got = await runGraph(b.finish(b.globalAvgPool('gap', 'x')), x, batch);
      expect(relativeError(got, globalAvgPoolRef({ data: x, batch, h, w, c })), `${h}x${w}x${c}`).toBeLessThan(1e-6);
    }
  });

  it('dense 2048 -> 1000 and odd sizes, then softmax; f16 and int8 weights against the reference with the weights rounded the same way', async () => {
    for (const [inF, units, batch] of [
      [2048, 1000, 2],
      [37, 11, 3],
      [5, 4, 1],
    ] as const) {
      const x = randomArray(batch * inF, inF);
      const weights = randomArray(inF * units, units, 1 / Math.sqrt(inF));
      const bias = randomArray(units, 7, 0.1);
      const b = new GraphBuilder('t', 'x', [1, 1, inF]);
      const d = b.dense('fc', 'x', { weights, bias, units });
      const logits = await runGraph(b.finish(d), x, batch);
      const want = denseRef(x, batch, weights, bias, units);
      expect(relativeError(logits, want), `dense ${inF}->${units}`).toBeLessThan(1e-5);
      const rounded = { f16: weights.map(roundToHalf), int8: roundToInt8Columns(weights, units) };
      for (const storage of ['f16', 'int8'] as const) {
        const got = await runGraph(b.finish(d), x, batch, { weightStorage: storage });
        expect(
          relativeError(got, denseRef(x, batch, rounded[storage], bias, units)),
          `dense ${inF}->${units}, ${storage} weights`,
        ).toBeLessThan(1e-5);
      }
      const probs = await runGraph(b.finish(b.softmax('sm', d)), x, batch);
      expect(relativeError(probs, softmaxRef(want, batch)), `softmax ${units}`).toBeLessThan(1e-5);
    }
  });

  it('standalone add + relu', async () => {
    for (const [h, w, c, relu] of [
      [7, 7, 256, true],
      [3, 5, 3, true],
      [2, 2, 5, false],
    ] as const) {
      const batch = 2;
      const x = randomArray(batch * h * w * c, c);
      const b = new GraphBuilder('t', 'x', [h, w, c]);
      // a = x * 1 (a 1x1 identity conv), b = x: checks a + b against 2x
      const eye = new Float32Array(c * c);
      for (let i = 0; i < c; i++) eye[i * c + i] = 1;
      const a = b.conv2d('id', 'x', { weights: eye, kernel: [1, 1], filters: c });
      const sum = b.addTensors('add', a, 'x', relu);
      const got = await runGraph(b.finish(sum), x, batch);
      const want = x.map((v) => (relu ? Math.max(2 * v, 0) : 2 * v));
      expect(relativeError(got, want), `${h}x${w}x${c}`).toBeLessThan(1e-6);
    }
  });
});

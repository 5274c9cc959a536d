/**
 * Kernel interfaces on the full ResNet-50 graph (CPU only, no GPU): every kernel declares exactly the bindings
 * its op binds, shader keys and code agree (pipelines are cached by key), and no dispatch exceeds the device's
 * workgroups per dimension.
 */
import { describe, expect, it } from 'vitest';
import { planGraph, planWithinMemory } from '../src/plan/planner.js';
import { CONV_BINDINGS } from '../src/kernels/conv-parts.js';
import { ADD_RELU_BINDINGS } from '../src/kernels/add-relu.js';
import type { KernelInterface } from '../src/kernels/bindings.js';
import { CAM_BINDINGS } from '../src/kernels/class-activation-maps.js';
import { DENSE_BINDINGS, SOFTMAX_BINDINGS } from '../src/kernels/dense.js';
import { POOL_BINDINGS } from '../src/kernels/pool.js';
import { PREPROCESS_BINDINGS, preprocessShader } from '../src/kernels/preprocess.js';
import { CAFFE_PREPROCESSING } from '../src/preprocess/preprocess.js';
import {
  logitsShader,
  softmaxShader,
  standardizeShader,
  statsShader,
  TRAIN_STANDARDIZE_BINDINGS,
  TRAIN_LOGITS_BINDINGS,
  TRAIN_SOFTMAX_BINDINGS,
  TRAIN_STATS_BINDINGS,
  TRAIN_UPDATE_BINDINGS,
  updateShader,
} from '../src/kernels/train.js';
import { GraphBuilder } from '../src/graph/graph.js';
import { add, avgPool, conv2d, isWeighted } from '../src/operators/index.js';
import { resnet50Graph as graph } from './helpers/resnet50-graph.js';

/** conv -> add(conv, input) + ReLU, not optimized: the add runs as a kernel of its own. */
function standaloneAdd() {
  const b = new GraphBuilder('add', 'x', [8, 8, 4]);
  const conv = b.add(conv2d('conv', 'x', { weights: new Float32Array(16).fill(0.5), kernel: [1, 1], filters: 4 }));
  return b.finish(b.add(add('sum', conv, 'x', true)));
}

/** An average pool, 2x2 stride 2 with ceil mode, of an odd-sized input. */
function averagePool() {
  const b = new GraphBuilder('avg', 'x', [7, 9, 8]);
  const pool = avgPool('pool', 'x', { size: [2, 2], strides: [2, 2], ceilMode: true, countIncludePad: false });
  return b.finish(b.add(pool));
}

describe('kernel interfaces', () => {
  /** `@binding(n) var<...> name` declarations of a shader. */
  const declared = (code: string) =>
    [...code.matchAll(/@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)/g)].map((m) => ({
      binding: Number(m[1]),
      name: m[2]!,
    }));
  const plans = {
    'tiled, batch 1 (split-K)': planWithinMemory(graph, { convStrategy: 'tiled', batch: 1 }),
    'tiled, batch 32, f16 weights': planWithinMemory(graph, { convStrategy: 'tiled', batch: 32, weightStorage: 'f16' }),
    'tiled, batch 1 (split-K), int8 weights': planWithinMemory(graph, {
      convStrategy: 'tiled',
      batch: 1,
      weightStorage: 'int8',
    }),
    'simd (subgroups of 8), f16 weights': planGraph(graph, {
      convStrategy: 'simd',
      subgroupSize: 8,
      weightStorage: 'f16',
    }),
    'simd (subgroups of 8), int8 weights': planGraph(graph, {
      convStrategy: 'simd',
      subgroupSize: 8,
      weightStorage: 'int8',
    }),
    'tiled, class activation maps, int8 weights': planGraph(graph, {
      convStrategy: 'tiled',
      classActivationMaps: true,
      weightStorage: 'int8',
    }),
    'a residual add the passes did not fuse (add + ReLU kernel)': planGraph(standaloneAdd(), { convStrategy: 'tiled' }),
    "an average pool (ResNet-D's shortcut)": planGraph(averagePool(), { convStrategy: 'tiled' }),
  };

  /** The declarations of `code` are exactly the table's entries `resources` names (number and name), and nothing else. */
  function expectBindings(code: string, table: KernelInterface, bound: number[], what: string): void {
    const decls = declared(code);
    expect(decls.map((d) => d.binding).sort(), what).toEqual([...bound].sort());
    const byBinding = new Map(Object.entries(table).map(([name, slot]) => [slot.binding, name]));
    for (const d of decls) expect(d.name, `${what}: binding ${d.binding}`).toBe(byBinding.get(d.binding));
    expect(code.match(/struct Params \{/g)?.length ?? 0, what).toBeLessThanOrEqual(1);
    expect(code, what).not.toMatch(/\$\{|#if|#else|#endif/); // fully specialized
  }

  it('every kernel declares exactly the bindings its op binds, by the names and numbers of its one table', () => {
    const seen = new Set<string>();
    for (const [what, plan] of Object.entries(plans)) {
      if (what.includes('split-K'))
        expect(
          plan.steps.some((s) => s.label.endsWith('/sum')),
          what,
        ).toBe(true);
      if (what.startsWith('simd'))
        expect(
          plan.steps.some((s) => s.label.endsWith('/sum')),
          what,
        ).toBe(false);
      for (const step of plan.steps) {
        expectBindings(
          step.shader.code(),
          step.bindings,
          step.resources.map(([b]) => b),
          `${what}: ${step.label}`,
        );
        seen.add(Object.keys(step.bindings).join());
      }
    }
    for (const srgb of [false, true]) {
      const code = preprocessShader(CAFFE_PREPROCESSING, srgb);
      expectBindings(
        code,
        PREPROCESS_BINDINGS,
        Object.values(PREPROCESS_BINDINGS).map((s) => s.binding),
        `preprocessing${srgb ? ' (srgb)' : ''}`,
      );
      seen.add(Object.keys(PREPROCESS_BINDINGS).join());
    }
    // the training kernels (src/train/gpu-trainer.ts binds every name of each table, but the evaluation softmax has no classWeight and dz)
    const all = (t: KernelInterface, but: string[] = []) =>
      Object.entries(t)
        .filter(([n]) => !but.includes(n))
        .map(([, slot]) => slot.binding);
    const training: Array<[string, string, KernelInterface, number[]]> = [
      ['train stats', statsShader(37, 20).code(), TRAIN_STATS_BINDINGS, all(TRAIN_STATS_BINDINGS)],
      [
        'train standardize',
        standardizeShader(37, 20).code(),
        TRAIN_STANDARDIZE_BINDINGS,
        all(TRAIN_STANDARDIZE_BINDINGS),
      ],
      ['train logits', logitsShader(37, 5).code(), TRAIN_LOGITS_BINDINGS, all(TRAIN_LOGITS_BINDINGS)],
      ['train softmax', softmaxShader(5, 16, true).code(), TRAIN_SOFTMAX_BINDINGS, all(TRAIN_SOFTMAX_BINDINGS)],
      [
        'validation softmax',
        softmaxShader(5, 16, false).code(),
        TRAIN_SOFTMAX_BINDINGS,
        all(TRAIN_SOFTMAX_BINDINGS, ['classWeight', 'dz']),
      ],
      ['train update', updateShader(37, 5, 16).code(), TRAIN_UPDATE_BINDINGS, all(TRAIN_UPDATE_BINDINGS)],
    ];
    for (const [what, code, table, bound] of training) {
      expectBindings(code, table, bound, what);
      seen.add(Object.keys(table).join());
    }
    // every table: conv, pools, add + ReLU, dense, softmax, class activation maps, preprocessing, training
    const tables = [
      CONV_BINDINGS,
      POOL_BINDINGS,
      ADD_RELU_BINDINGS,
      DENSE_BINDINGS,
      SOFTMAX_BINDINGS,
      CAM_BINDINGS,
      PREPROCESS_BINDINGS,
      TRAIN_STATS_BINDINGS,
      TRAIN_STANDARDIZE_BINDINGS,
      TRAIN_LOGITS_BINDINGS,
      TRAIN_SOFTMAX_BINDINGS,
      TRAIN_UPDATE_BINDINGS,
    ];
    for (const table of tables) expect(seen.has(Object.keys(table).join()), Object.keys(table).join()).toBe(true);
    console.log(`binding tables checked: ${tables.map((t) => `{${Object.keys(t).join(', ')}}`).join('; ')}`);
  });

  it('keys come from the node but not its weights: int8 values loaded with it, or released after upload, key the same pipelines', () => {
    const keys = (g: typeof graph) =>
      planGraph(g, { convStrategy: 'tiled', batch: 2, weightStorage: 'int8' }).steps.map((s) => s.shader.key);
    const quantized = {
      ...graph,
      nodes: graph.nodes.map((n) =>
        isWeighted(n) ? { ...n, quantized: { values: new Int8Array(n.weights.length), scales: n.bias.slice() } } : n,
      ),
    };
    const released = {
      ...graph,
      nodes: graph.nodes.map((n) => (isWeighted(n) ? { ...n, weights: new Float32Array(0) } : n)),
    };
    expect(keys(quantized)).toEqual(keys(graph));
    expect(keys(released)).toEqual(keys(graph));
    // a field of the node that shapes the code is in the key
    const noRelu = { ...graph, nodes: graph.nodes.map((n) => (n.op === 'conv2d' ? { ...n, relu: false } : n)) };
    expect(keys(noRelu).filter((k, i) => k !== keys(graph)[i]).length).toBeGreaterThan(10);
  });

  it('shaders are made only when asked for, and equal keys mean equal code (pipelines are cached by key)', () => {
    const byKey = new Map<string, string>();
    const byCode = new Map<string, string>();
    let made = 0;
    for (const plan of [
      ...Object.values(plans),
      planWithinMemory(graph, { convStrategy: 'tiled', batch: 7 }),
      planGraph(graph, { convStrategy: 'simd', subgroupSize: 4, batch: 3 }),
    ]) {
      for (const step of plan.steps) {
        const code = step.shader.code();
        made++;
        expect(byKey.get(step.shader.key) ?? code, step.label).toBe(code);
        expect(byCode.get(code) ?? step.shader.key, step.label).toBe(step.shader.key);
        byKey.set(step.shader.key, code);
        byCode.set(code, step.shader.key);
      }
    }
    console.log(
      `${made} kernels, ${byKey.size} distinct shaders; longest key ${Math.max(...[...byKey.keys()].map((k) => k.length))} characters`,
    );
    // planning alone generates no WGSL: a specialization that throws while generating is never reached
    const probe = planGraph(graph, { convStrategy: 'tiled', batch: 5, gemmShader: `$${'{NOT_A_DEFINE}'}` });
    expect(probe.steps.length).toBeGreaterThan(50);
    expect(() => probe.steps.find((s) => s.label.startsWith('layer'))!.shader.code()).toThrow(
      /no value for \$\{NOT_A_DEFINE\}/,
    );
  });

  it("no dispatch exceeds the device's workgroups per dimension: elementwise kernels spread over x and y", () => {
    const plan = plans['tiled, batch 1 (split-K)'];
    const maxpool = plan.steps.find((s) => s.label === 'maxpool')!;
    const invocations = 64 * 56 * 56 * 16; // batch 64 of 56 x 56 x 64 channels, one invocation per vec4
    for (const max of [65535, 1000, 300]) {
      const groups = maxpool.workgroups(64, max);
      expect(Math.max(...groups), `at most ${max}`).toBeLessThanOrEqual(max);
      expect(groups[0] * groups[1] * groups[2] * 64, `at most ${max}`).toBeGreaterThanOrEqual(invocations);
    }
    for (const sum of plan.steps.filter((s) => s.label.endsWith('/sum')))
      expect(Math.max(...sum.workgroups(64, 1000)), sum.label).toBeLessThanOrEqual(1000);
  });
});

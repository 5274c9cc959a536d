/**
 * The planner on the full ResNet-50 graph (CPU only, no GPU): tiled plans per batch size, split-K where
 * tiles are few, scratch lifetimes, and split-K never growing the activation arena; Winograd; device limits.
 * The kernels' binding interfaces and shader keys: test/kernel-interfaces.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planGraph, planWithinMemory } from '../src/plan/planner.js';
import { layoutArena } from '../src/plan/arena.js';
import { largestFitting, overLimit } from '../src/plan/limits.js';
import { GraphBuilder } from '../src/graph/graph.js';
import { relu } from '../src/operators/index.js';
import { GraphError } from '../src/errors.js';
import {
  chooseTiling,
  DEFAULT_POLICY,
  MAX_CANDIDATES,
  TILES,
  tilingCandidates,
  tilingProblem,
  type Tiling,
} from '../src/kernels/conv-tiling.js';
import { resnet50Graph as graph } from './helpers/resnet50-graph.js';

const noSplit = (batch: number) =>
  layoutArena(planGraph(graph, { convStrategy: 'tiled', batch, policy: { ...DEFAULT_POLICY, target: 0 } }), batch)
    .bytes;

describe('tiled plans', () => {
  it('split K where a conv has few tiles (batch 1), much less at batch 32, with each partial-sum tensor alive from its conv to its sum', () => {
    const one = planWithinMemory(graph, { convStrategy: 'tiled', batch: 1 });
    const split = one.steps.filter((s) => s.algorithm?.strategy === 'tiled' && s.algorithm.tiling.split > 1);
    expect(split.length).toBeGreaterThan(10);
    expect(split.map((s) => s.label)).toContain('layer4.0.conv2');
    for (const t of one.tensors.filter((t) => t.scratch && t.id.endsWith('/partial'))) {
      expect(one.steps[t.first]!.label).toBe(t.id.replace(/\/partial$/, ''));
      expect(one.steps[t.last]!.label).toBe(`${one.steps[t.first]!.label}/sum`);
      expect(t.last).toBe(t.first + 1);
    }
    const big = planWithinMemory(graph, { convStrategy: 'tiled', batch: 32 });
    const bigSplits = big.steps.filter((s) => s.algorithm?.strategy === 'tiled' && s.algorithm.tiling.split > 1);
    expect(bigSplits.length).toBeLessThan(split.length / 2);
    expect(
      Math.max(...bigSplits.map((s) => (s.algorithm as { tiling: { split: number } }).tiling.split)),
    ).toBeLessThanOrEqual(4);
    expect(
      big.steps.filter((s) => s.algorithm?.strategy === 'tiled' && s.algorithm.tiling.tile.bm === 128).length,
    ).toBeGreaterThan(10);
  });

  it('split-K does not grow the arena: splits are halved where partial sums would raise the peak', () => {
    for (const batch of [1, 2, 8]) {
      const budget = noSplit(batch);
      const greedy = layoutArena(planGraph(graph, { convStrategy: 'tiled', batch }), batch).bytes;
      const plan = planWithinMemory(graph, { convStrategy: 'tiled', batch });
      expect(layoutArena(plan, batch).bytes, `batch ${batch}`).toBeLessThanOrEqual(budget);
      if (batch === 1) expect(greedy).toBeGreaterThan(budget); // the case the check exists for
      expect(
        plan.steps.some((s) => s.algorithm?.strategy === 'tiled' && s.algorithm.tiling.split > 1),
        `batch ${batch}`,
      ).toBe(true);
    }
  });

  it("pinned tilings (the autotune's) with split-K do not grow the arena either: the reference is the same tiles unsplit", () => {
    const plain = planGraph(graph, { convStrategy: 'tiled', batch: 1 });
    const pinned = Object.fromEntries(
      plain.steps
        .filter((s) => s.algorithm?.strategy === 'tiled' && !s.algorithm.winograd && s.label === s.layer)
        .map((s) => [s.label, { tiling: { tile: TILES.large, split: 16 } }]),
    );
    const greedy = planGraph(graph, { convStrategy: 'tiled', batch: 1, conv: pinned });
    const plan = planWithinMemory(graph, { convStrategy: 'tiled', batch: 1, conv: pinned });
    const unsplit = Object.fromEntries(
      Object.keys(pinned).map((n) => [n, { tiling: { tile: TILES.large, split: 1 } }]),
    );
    const budget = layoutArena(planGraph(graph, { convStrategy: 'tiled', batch: 1, conv: unsplit }), 1).bytes;
    expect(layoutArena(greedy, 1).bytes).toBeGreaterThan(budget);
    expect(layoutArena(plan, 1).bytes).toBeLessThanOrEqual(budget);
    // the tiles stay as pinned; only splits shrink
    for (const name of Object.keys(pinned))
      expect((plan.steps.find((s) => s.label === name)!.algorithm as { tiling: Tiling }).tiling.tile).toEqual(
        TILES.large,
      );
  });

  it("the autotune's candidates: the policy's tiling first, each valid, distinct, at most MAX_CANDIDATES; Winograd's never split", () => {
    for (const [m, cout, k] of [
      [49, 512, 4608],
      [16, 512, 512],
      [3136, 64, 576],
      [196, 1024, 256],
      [4, 2048, 512],
      [12544, 64, 147],
    ] as const) {
      for (const sliced of [false, true]) {
        const list = tilingCandidates(m, cout, k, sliced);
        const first = chooseTiling(m, cout, k);
        expect(list[0]).toEqual(sliced ? { tile: first.tile, split: 1 } : first);
        expect(list.length).toBeLessThanOrEqual(MAX_CANDIDATES);
        expect(new Set(list.map((t) => JSON.stringify(t))).size).toBe(list.length);
        for (const t of list) expect(tilingProblem(t)).toBeUndefined();
        if (sliced) expect(list.every((t) => t.split === 1)).toBe(true);
        else if (first.split > 1) expect(list.length).toBeGreaterThan(1);
      }
    }
  });
});

describe('Winograd F(2x2,3x3) and F(4x4,3x3)', () => {
  const threeByThree = graph.nodes.filter((n) => n.op === 'conv2d' && n.kernel[0] === 3);
  const strideOne = threeByThree.filter((n) => n.op === 'conv2d' && n.strides[0] === 1).map((n) => n.name);
  it('computes every 3x3 stride-1 conv with f32 weights, in both main loops: input transform, 16 or 36 GEMMs, output transform, with the scratch between them', () => {
    expect(strideOne).toHaveLength(13); // torchvision's v1.5: the first 3x3 of stages 2-4 has stride 2
    for (const lowering of [{ convStrategy: 'tiled' as const }, { convStrategy: 'simd' as const, subgroupSize: 8 }]) {
      const plan = planWithinMemory(graph, { ...lowering, batch: 1 });
      const winograd = plan.steps.filter((s) => s.algorithm?.winograd);
      const chosen = strideOne;
      expect([...new Set(winograd.map((s) => s.label.replace(/\/winograd (in|out)$/, '')))]).toEqual(chosen);
      // 4x4 output tiles for images of 32 or more of them in the simd loop (layer1's 56x56, layer2's 28x28),
      // 16 or more in the tiled loop (also layer3's 14x14), 2x2 below
      const f4 = lowering.convStrategy === 'tiled' ? /^layer[123]\./ : /^layer[12]\./;
      expect(Object.fromEntries(winograd.map((s) => [s.layer, s.algorithm!.winograd]))).toEqual(
        Object.fromEntries(chosen.map((n) => [n, f4.test(n) ? 4 : 2])),
      );
      for (const name of chosen) {
        const at = plan.steps.findIndex((s) => s.label === `${name}/winograd in`);
        expect(plan.steps.slice(at, at + 3).map((s) => s.label)).toEqual([
          `${name}/winograd in`,
          name,
          `${name}/winograd out`,
        ]);
        const [v, m] = [`${name}/winograd V`, `${name}/winograd M`].map((id) => plan.tensors.find((t) => t.id === id)!);
        expect([v!.first, v!.last, m!.first, m!.last]).toEqual([at, at + 1, at + 1, at + 2]);
        if (lowering.convStrategy === 'tiled') {
          // never split along K; layer3's 14x14 and layer4's 7x7 outputs (16 4x4 or 2x2 tiles at batch 1) in 16-row tiles
          const { tiling } = plan.steps[at + 1]!.algorithm as { tiling: Tiling };
          expect(tiling.split).toBe(1);
          expect(tiling.tile).toEqual(/^layer[34]\./.test(name) ? TILES.skinny : TILES.medium);
        }
      }
    }
  });

  it('the same convs at every batch size (their weights are uploaded once, at load); f16 weights only when asked, F(2x2); not for int8 weights, nor where asked for the direct conv', () => {
    for (const convStrategy of ['tiled', 'simd'] as const) {
      const chosen = (batch: number) =>
        planGraph(graph, { convStrategy, subgroupSize: 8, batch })
          .steps.filter((s) => s.algorithm?.winograd)
          .map((s) => `${s.label} F${s.algorithm!.winograd}`)
          .join();
      for (const batch of [2, 8, 32]) expect(chosen(batch), `${convStrategy} batch ${batch}`).toBe(chosen(1));
    }
    expect(
      planGraph(graph, { convStrategy: 'tiled', weightStorage: 'int8' }).steps.some((s) => s.algorithm?.winograd),
    ).toBe(false);
    // f16 weights: direct by default; F(2x2) when a variant is asked for, even F(4x4)
    for (const convStrategy of ['tiled', 'simd'] as const)
      expect(
        planGraph(graph, { convStrategy, subgroupSize: 8, weightStorage: 'f16' }).steps.some(
          (s) => s.algorithm?.winograd,
        ),
      ).toBe(false);
    for (const winograd of [2, 4] as const) {
      const f16 = planGraph(graph, { convStrategy: 'tiled', weightStorage: 'f16', winograd }).steps.filter(
        (s) => s.algorithm?.winograd,
      );
      expect(f16.length).toBeGreaterThan(0);
      expect(new Set(f16.map((s) => s.algorithm!.winograd))).toEqual(new Set([2]));
    }
    const direct = Object.fromEntries(strideOne.map((n) => [n, { winograd: false }]));
    expect(planGraph(graph, { convStrategy: 'tiled', conv: direct }).steps.some((s) => s.algorithm?.winograd)).toBe(
      false,
    );
  });
});

describe('device limits', () => {
  const plan = planWithinMemory(graph, { convStrategy: 'tiled', batch: 4 });
  const layout = layoutArena(plan, 4);
  const roomy = {
    maxStorageBufferBindingSize: 2 ** 31,
    maxBufferSize: 2 ** 40,
    maxComputeWorkgroupsPerDimension: 65535,
  };

  it('a plan fits, or the limit it breaks is named: a tensor over one binding, the arena over one buffer, a dispatch over the workgroup count', () => {
    expect(overLimit(plan, layout, 4, roomy)).toBeUndefined();
    const largest = Math.max(...[...layout.slots.values()].map((s) => s.size));
    expect(overLimit(plan, layout, 4, { ...roomy, maxStorageBufferBindingSize: largest - 1 })).toMatch(
      /^batch 4: tensor \S+ needs \d+ bytes, more than this device binds at once/,
    );
    expect(overLimit(plan, layout, 4, { ...roomy, maxStorageBufferBindingSize: largest })).toBeUndefined();
    expect(overLimit(plan, layout, 4, { ...roomy, maxBufferSize: layout.bytes - 1 })).toMatch(
      /the activation arena needs \d+ bytes, more than this device's maxBufferSize/,
    );
    expect(overLimit(plan, layout, 4, { ...roomy, maxComputeWorkgroupsPerDimension: 16 })).toMatch(
      /needs \[\d+,\d+,\d+\] workgroups, more than this device's 16 per dimension/,
    );
  });

  it('the largest batch that fits is found by bisection, 0 when none does', () => {
    for (const limit of [0, 1, 7, 100, 4096]) {
      let calls = 0;
      expect(
        largestFitting(4096, (n) => {
          calls++;
          return n <= limit;
        }),
      ).toBe(limit);
      expect(calls).toBeLessThanOrEqual(14);
    }
  });
});

describe('graph errors', () => {
  it('an op the planner cannot run alone is a GraphError (a ModelFormatError) naming the node', () => {
    const b = new GraphBuilder('t', 'x', [4, 4, 3]);
    const g = b.finish(b.add(relu('lonely', 'x')));
    expect(() => planGraph(g)).toThrow(GraphError);
    expect(() => planGraph(g)).toThrow(
      'lonely: a standalone relu is not supported (it must follow a conv, dense, add or batchnorm)',
    );
  });
});

/**
 * The planner on the full ResNet-50 graph (CPU only, no GPU): tiled plans per batch size, split-K where
 * tiles are few, scratch lifetimes, and split-K never growing the activation arena.
 */
import { describe, expect, it } from 'vitest';
import { buildResNet } from '../src/arch/resnet.js';
import { optimize } from '../src/graph/passes.js';
import { layoutArena, planGraph, planWithinMemory } from '../src/plan/planner.js';
import { DEFAULT_POLICY } from '../src/ops/conv2d.js';

const graph = buildResNet((_, shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01), { depth: 50, definition: 'torchvision' });
optimize(graph);
const noSplit = (batch: number) => layoutArena(planGraph(graph, { convStrategy: 'tiled', batch, policy: { ...DEFAULT_POLICY, target: 0 } }), batch).bytes;

describe('tiled plans', () => {
  it('split K where a conv has few tiles (batch 1), much less at batch 32, with each partial-sum tensor alive from its conv to its sum', () => {
    const one = planWithinMemory(graph, { convStrategy: 'tiled', batch: 1 });
    const split = one.steps.filter((s) => s.tiling && s.tiling.split > 1);
    expect(split.length).toBeGreaterThan(10);
    expect(split.map((s) => s.label)).toContain('layer4.0.conv2');
    for (const t of one.tensors.filter((t) => t.scratch)) {
      expect(one.steps[t.first]!.label).toBe(t.id.replace(/\/partial$/, ''));
      expect(one.steps[t.last]!.label).toBe(`${one.steps[t.first]!.label}/sum`);
      expect(t.last).toBe(t.first + 1);
    }
    const big = planWithinMemory(graph, { convStrategy: 'tiled', batch: 32 });
    const bigSplits = big.steps.filter((s) => s.tiling && s.tiling.split > 1);
    expect(bigSplits.length).toBeLessThan(split.length / 2);
    expect(Math.max(...bigSplits.map((s) => s.tiling!.split))).toBeLessThanOrEqual(4);
    expect(big.steps.filter((s) => s.tiling?.tile.bm === 128).length).toBeGreaterThan(10);
  });

  it('split-K does not grow the arena: splits are halved where partial sums would raise the peak', () => {
    for (const batch of [1, 2, 8]) {
      const budget = noSplit(batch);
      const greedy = layoutArena(planGraph(graph, { convStrategy: 'tiled', batch }), batch).bytes;
      const plan = planWithinMemory(graph, { convStrategy: 'tiled', batch });
      expect(layoutArena(plan, batch).bytes, `batch ${batch}`).toBeLessThanOrEqual(budget);
      if (batch === 1) expect(greedy).toBeGreaterThan(budget); // the case the check exists for
      expect(plan.steps.some((s) => s.tiling && s.tiling.split > 1), `batch ${batch}`).toBe(true);
    }
  });
});

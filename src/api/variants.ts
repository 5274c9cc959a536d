/**
 * `skipBlocks` (residual block names from a caller) and whether class activation maps are wanted -> the
 * Variant the executor plans and runs: names checked once, here at the public edge, against the blocks
 * the network has; put in network order without repeats; and interned (one object per variant), so that
 * plans and arenas are keyed by it.
 */
import { InputError } from '../errors.js';
import type { Variant } from '../plan/plan-cache.js';
import { INTACT } from '../plan/plan-cache.js';

export class Variants {
  private readonly interned = new Map<string, Variant>();
  private readonly index: Map<string, number>;

  constructor(
    private readonly blocks: ReadonlyArray<{ name: string; stage: number }>,
    private readonly network: string,
  ) {
    this.index = new Map(blocks.map((b, i) => [b.name, i]));
  }

  /**
   * The variant without the blocks named in `skip` (INTACT for none and no maps), with the class activation
   * maps if asked; unknown names are an InputError listing the blocks there are.
   */
  of(skip: readonly string[] | undefined, classActivationMaps = false): Variant {
    if (skip === undefined && !classActivationMaps) return INTACT;
    skip ??= [];
    if (!Array.isArray(skip) || skip.some((s) => typeof s !== 'string'))
      throw new InputError('skipBlocks must be an array of block names such as "layer3.2"');
    const unknown = skip.filter((s) => !this.index.has(s));
    if (unknown.length) {
      const names = unknown.map((u) => JSON.stringify(u)).join(', ');
      const blocks = `block${unknown.length > 1 ? 's' : ''}`;
      throw new InputError(`unknown residual ${blocks} ${names}: this ${this.network} has ${this.describe()}`);
    }
    const positions = [...new Set(skip.map((s) => this.index.get(s)!))].sort((a, b) => a - b);
    if (!positions.length && !classActivationMaps) return INTACT;
    const key = `${positions.join()}${classActivationMaps ? '+maps' : ''}`;
    let variant = this.interned.get(key);
    if (!variant) {
      variant = Object.freeze({
        skipped: Object.freeze(positions.map((i) => this.blocks[i]!.name)),
        classActivationMaps,
      });
      this.interned.set(key, variant);
    }
    return variant;
  }

  /** The blocks there are, as ranges per stage: "layer1.0..layer1.2, layer2.0..layer2.3, ...". */
  private describe(): string {
    if (!this.blocks.length) return 'no residual blocks';
    const stages = new Map<number, string[]>();
    for (const b of this.blocks) stages.set(b.stage, [...(stages.get(b.stage) ?? []), b.name]);
    return [...stages.values()]
      .map((names) => (names.length > 1 ? `${names[0]}..${names.at(-1)}` : names[0]))
      .join(', ');
  }
}

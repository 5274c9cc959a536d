/**
 * Plans by variant and batch size, each built once and kept, with their arena layouts; the device-limit
 * questions (does a batch fit, the largest batch that does) answered from them.
 *
 * A variant is the network with some residual blocks deleted (their names in network order; none: the
 * network as loaded), and with or without the class activation maps computed after it. Variants are
 * interned by their maker (see src/api/variants.ts), so one variant is one object, and maps can be keyed
 * by it.
 */
import { largestFitting, overLimit, type DeviceLimits } from './limits.js';
import { type ArenaLayout, layoutArena } from './arena.js';
import type { Plan } from './planner.js';

export interface Variant {
  /** Names of the residual blocks deleted, in network order; [] is the network as loaded. */
  readonly skipped: readonly string[];
  /** Whether the plan also computes the class activation maps (output 'cam'). */
  readonly classActivationMaps: boolean;
}

/** The network as loaded: no residual block deleted. */
export const INTACT: Variant = Object.freeze({ skipped: Object.freeze([]), classActivationMaps: false });

/**
 * Plans the network (a variant of it) for a batch size, on a device whose storage buffer offsets align to
 * `alignment` bytes (the planner weighs split-K's scratch against the arena it lays out).
 */
export type Planner = (batch: number, variant: Variant, alignment: number) => Plan;

interface Planned {
  plan: Plan;
  layout: ArenaLayout;
}

export class PlanCache {
  private readonly planned = new Map<Variant, Map<number, Planned>>();
  /** largestBatch's answers: variant -> upTo -> batch. */
  private readonly largest = new Map<Variant, Map<number, number>>();

  constructor(
    readonly planner: Planner,
    private readonly limits: DeviceLimits & { minStorageBufferOffsetAlignment: number },
  ) {}

  private make(batch: number, variant: Variant): Planned {
    const alignment = this.limits.minStorageBufferOffsetAlignment;
    const plan = this.planner(batch, variant, alignment);
    if (plan.alignment !== undefined && plan.alignment !== alignment) {
      throw new Error(
        `a plan for offsets aligned to ${plan.alignment} bytes on a device that aligns them to ${alignment}`,
      );
    }
    return { plan, layout: layoutArena(plan, batch, alignment) };
  }

  /** The plan and arena layout for `batch` images of `variant`, made once and kept. */
  get(batch: number, variant: Variant): Planned {
    let byBatch = this.planned.get(variant);
    if (!byBatch) this.planned.set(variant, (byBatch = new Map()));
    let p = byBatch.get(batch);
    if (!p) byBatch.set(batch, (p = this.make(batch, variant)));
    return p;
  }

  /** The arena layout for `batch` images; a plan made only to answer this (a probed batch size) is not kept. */
  layout(batch: number, variant: Variant): ArenaLayout {
    return (this.planned.get(variant)?.get(batch) ?? this.make(batch, variant)).layout;
  }

  /** Why `batch` images of `variant` do not fit the device, or undefined. */
  overLimit(batch: number, variant: Variant): string | undefined {
    const { plan, layout } = this.planned.get(variant)?.get(batch) ?? this.make(batch, variant);
    return overLimit(plan, layout, batch, this.limits);
  }

  /** The largest batch, up to `upTo`, that fits the device (0 if not even one image does). */
  largestBatch(upTo: number, variant: Variant): number {
    let known = this.largest.get(variant);
    if (!known) this.largest.set(variant, (known = new Map()));
    let n = known.get(upTo);
    if (n === undefined) known.set(upTo, (n = largestFitting(upTo, (b) => this.overLimit(b, variant) === undefined)));
    return n;
  }
}

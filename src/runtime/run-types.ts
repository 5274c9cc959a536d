/** The shapes of an Executor's calls: what a run reads back, where it may write, what a profile reports. */
import type { PlanOutputs } from '../plan/planner.js';
import type { Variant } from '../plan/plan-cache.js';

/** What a run reads back: the names of ResNetModel.infer's `output` (see PlanOutputs). */
export type OutputKind = keyof PlanOutputs;

export interface RunOptions {
  /** What to read back (default: 'probabilities', the graph's output). */
  output?: OutputKind;
  variant?: Variant;
  /** Runs on the CPU while the GPU works; if it throws, the result is dropped and its error is the call's. */
  whileRunning?: () => void;
  /** Copy the output into this buffer instead of reading it back (the run then resolves to undefined). */
  into?: OutputTarget;
}

/** GPU time of one dispatch: its kernel's label and detail, milliseconds, and floating-point operations. */
export interface ProfileStep {
  /** The dispatch: its layer's name, with a suffix for a layer's further kernels (`/sum`, `/winograd in`, `/winograd
   * out`). */
  label: string;
  /** The graph node (layer) it computes. */
  layer: string;
  detail: string;
  ms: number;
  flops: number;
}

/** A destination on the GPU for a run's output (a buffer with COPY_DST usage). */
export interface OutputTarget {
  buffer: GPUBuffer;
  offset?: number;
}

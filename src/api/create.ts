/**
 * The loading sequence both entries (src/node.ts, src/browser.ts) share, from a loaded graph to a model:
 * settings checked (src/api/settings.ts), the device (the caller's, or one the engine acquires and
 * releases again if anything fails), the graph optimized and planned, weights uploaded, pipelines compiled
 * (the model itself is put together in src/api/assemble.ts).
 */
import { residualBlocks, skipBlocks } from '../graph/blocks.js';
import type { Graph } from '../graph/graph.js';
import { graphWithHead } from '../graph/head.js';
import { optimize } from '../graph/passes.js';
import { resizeGraph } from '../graph/resize.js';
import type { LoadedGraph } from '../loaders/formats.js';
import { convLoweringFor } from '../operators/conv-algorithm.js';
import { isWeighted } from '../operators/index.js';
import type { Planner, Variant } from '../plan/plan-cache.js';
import { planWithinMemory } from '../plan/planner.js';
import { type Autotuned, autotuneBatches, autotuneTilings, type TunedTilings } from '../runtime/autotune.js';
import type { KeptConstants } from '../runtime/constants.js';
import { describeAdapter } from '../runtime/device.js';
import { Executor } from '../runtime/executor.js';
import { InputError } from '../errors.js';
import { assemble, type Base, DeviceLease, type OwnedDevice, type Platform, releaseWeights } from './assemble.js';
import type { ResNetModel } from './model.js';
import { type LoadOptionsBase, readHead } from './options.js';
import { type ModelSettings, modelSettings } from './settings.js';

export type { OwnedDevice, Platform };

/** Builds the model for `loaded` on `options.device`, or on a device the platform acquires (released again if building
 * fails). */
export async function createModel<I>(
  given: LoadedGraph,
  options: LoadOptionsBase,
  platform: Platform<I>,
): Promise<ResNetModel<I>> {
  const head = options.head === undefined ? undefined : await readHead(options.head, platform.readFile);
  const loaded = head ? { ...given, graph: graphWithHead(given.graph, head) } : given;
  const settings = modelSettings(loaded, options);
  if (settings.device) {
    return build(loaded, settings, { device: settings.device, adapter: settings.adapter }, undefined, platform);
  }
  const owned = await platform.acquireDevice();
  try {
    return await build(loaded, settings, owned, settings.recover ? platform.acquireDevice : undefined, platform);
  } catch (err) {
    owned.release();
    throw err;
  }
}

async function build<I>(
  { graph: loadedGraph, origin }: LoadedGraph,
  settings: ModelSettings,
  { device, adapter, release }: { device: GPUDevice; adapter?: GPUAdapter; release?: () => void },
  recreate: (() => Promise<OwnedDevice>) | undefined,
  platform: Platform<I>,
): Promise<ResNetModel<I>> {
  const optimized = optimize(settings.inputSize ? resizeGraph(loadedGraph, settings.inputSize) : loadedGraph);
  const graph = ownWeightNodes(optimized.graph);
  const info = adapter?.info ?? callerDeviceInfo(device);
  const lowering = { ...convLoweringFor(device, info, settings.convStrategy), winograd: settings.winograd };
  const adapterName = adapter ? describeAdapter(adapter) : 'caller-provided device';
  const lease = new DeviceLease(release);
  const base: Base<I> = {
    graph,
    settings,
    lowering,
    device,
    adapterName,
    lease,
    platform,
    report: optimized.report,
    origin,
    tuned: new Map(),
  };
  const kept = recreate ? new Map() : undefined;
  // The autotune's first executor uploads the weights (into `kept` too); the model's shares them.
  const tuning = await autotune(base, info, kept);
  let executor: Executor;
  try {
    executor = await Executor.create(device, plannerOf(base, graph), kept, tuning?.sharedExecutor);
  } finally {
    tuning?.sharedExecutor?.dispose();
  }
  releaseWeights(graph);
  return assemble(base, graph, executor, settings.labels, { recreate, plannerOf });
}

/**
 * The load-time autotune where asked (src/runtime/autotune.ts), its answers set on `base`. Asked for where
 * nothing can be timed: an InputError.
 */
async function autotune<I>(
  base: Base<I>,
  info: Partial<GPUAdapterInfo> | undefined,
  kept?: KeptConstants,
): Promise<Autotuned | undefined> {
  const { settings, lowering, device, graph, platform } = base;
  const batches = autotuneBatches(settings.autotune, lowering, device);
  if (typeof batches === 'string') throw new InputError(batches);
  if (!batches) return undefined;
  const planFor = (tuned: TunedTilings) => plannerOf({ ...base, tuned }, graph);
  const tuning = await autotuneTilings({ device, graph, batches, planFor, info, answers: platform.tuning(), kept });
  Object.assign(base, { tuned: tuning.tuned, autotune: tuning.report });
  return tuning;
}

/** Plans `graph` (the base's, or one with another head) for a batch and a variant, on the executor's device. */
function plannerOf<I>(
  { lowering, settings, tuned }: Pick<Base<I>, 'lowering' | 'settings' | 'tuned'>,
  graph: Graph,
): Planner {
  const blocks = residualBlocks(graph);
  return (batch: number, variant: Variant, alignment: number) =>
    planWithinMemory(
      variant.skipped.length ? skipBlocks(graph, blocks, variant.skipped) : graph,
      {
        ...lowering,
        batch,
        weightStorage: settings.precision,
        classActivationMaps: variant.classActivationMaps,
        conv: tuned.get(batch),
      },
      alignment,
    );
}

/** The graph with its own copies of the conv and dense nodes (weights shared), so releasing them touches nothing a
 * caller holds. */
function ownWeightNodes(graph: Graph): Graph {
  return { ...graph, nodes: graph.nodes.map((n) => (isWeighted(n) ? { ...n } : n)) };
}

/**
 * What a caller's device says of its adapter (which kernels suit it). Not asked in Deno: there, reading
 * device.adapterInfo after the adapter was garbage-collected aborts the process; pass `adapter` instead.
 */
function callerDeviceInfo(device: GPUDevice): GPUAdapterInfo | undefined {
  if ('Deno' in globalThis) return undefined;
  return (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
}

/**
 * The loading sequence both entries (src/node.ts, src/browser.ts) share, from a loaded graph to a model:
 * settings checked, the device (the caller's, or one the engine acquires and releases again if anything
 * fails), the graph optimized and planned, weights uploaded, pipelines compiled.
 */
import { InputError } from '../errors.js';
import { residualBlocks, skipBlocks } from '../graph/blocks.js';
import { optimize } from '../graph/passes.js';
import { resizeGraph } from '../graph/resize.js';
import { modelSettings, readHead, type LoadedGraph, type LoadOptionsBase } from '../load.js';
import type { Variant } from '../plan/plan-cache.js';
import { planWithinMemory } from '../plan/planner.js';
import { describeAdapter } from '../runtime/device.js';
import {
  autotuneBatches,
  autotuneTilings,
  type Autotuned,
  type AutotuneReport,
  type TunedTilings,
  type TuningStore,
} from '../runtime/autotune.js';
import type { KeptConstants } from '../runtime/constants.js';
import { convLoweringFor, type ConvLowering } from '../plan/conv-algorithm.js';
import { Executor } from '../runtime/executor.js';
import { INTACT } from '../plan/plan-cache.js';
import { RecoveringExecutor } from '../runtime/recovery.js';
import { ResNetModel, type ImageDecoder, type ImageUploader, type ModelInfo } from './model.js';
import type { Classifier } from './explain.js';
import { classifierHead, type Graph } from '../graph/ir.js';
import type { OptimizeReport } from '../graph/passes.js';
import { checkHead, graphWithHead, type Head } from '../train/head.js';

/** A GPU device the engine owns, and how to give it back. */
export interface OwnedDevice {
  device: GPUDevice;
  adapter?: GPUAdapter;
  release: () => void;
}

/** What an entry supplies: how to decode its images and how to get a device of its own. */
export interface Platform<I> {
  decode: ImageDecoder<I>;
  /** Where images can go to the GPU as textures (browsers). */
  upload?: ImageUploader<I>;
  /** Where the platform has files (Node): reads one, for a head given by its path. */
  readFile?: (path: string) => Promise<Uint8Array>;
  acquireDevice: () => Promise<OwnedDevice>;
  /** Where the autotune's answers outlive the process (a file in Node, localStorage in a page). */
  tuningStore?: TuningStore;
  /** Whether GPU timestamps are exact here (Node turns Dawn's rounding off; browsers round them): the autotune's default. */
  preciseTimestamps?: boolean;
}

/** Builds the model for `loaded` on `options.device`, or on a device the platform acquires (released again if building fails). */
export async function createModel<I>(
  given: LoadedGraph,
  options: LoadOptionsBase,
  platform: Platform<I>,
): Promise<ResNetModel<I>> {
  const loaded =
    options.head === undefined
      ? given
      : { ...given, graph: graphWithHead(given.graph, await readHead(options.head, platform.readFile)) };
  const settings = modelSettings(loaded, options);
  if (options.device && options.recover)
    throw new InputError(
      "recover: true needs the engine's own device: with a device of yours, watch model.lost and load the model again on a new one",
    );
  if (options.device) {
    return build(loaded, settings, { device: options.device, adapter: options.adapter }, undefined, platform);
  }
  const owned = await platform.acquireDevice();
  try {
    return await build(loaded, settings, owned, options.recover ? platform.acquireDevice : undefined, platform);
  } catch (err) {
    owned.release();
    throw err;
  }
}

/** The device a model runs on, shared by the models made from it (withHead): released when the last lets go. */
class DeviceLease {
  private holders = 0;
  constructor(private readonly release?: () => void) {}
  hold(): (() => void) | undefined {
    if (!this.release) return undefined;
    this.holders++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.holders === 0) this.release!();
    };
  }
}

/** What a model keeps to make models that share its network on the GPU (ResNetModel.withHead). */
interface Base<I> {
  graph: Graph;
  settings: ReturnType<typeof modelSettings>;
  lowering: ConvLowering;
  device: GPUDevice;
  adapterName: string;
  lease: DeviceLease;
  platform: Platform<I>;
  report: OptimizeReport;
  origin?: LoadedGraph['origin'];
  /** Tilings the autotune pinned, per batch size and conv (empty without it), and what it did. */
  tuned: TunedTilings;
  autotune?: AutotuneReport;
}

async function build<I>(
  { graph: loadedGraph, origin }: LoadedGraph,
  settings: ReturnType<typeof modelSettings>,
  { device, adapter, release }: { device: GPUDevice; adapter?: GPUAdapter; release?: () => void },
  recreate: (() => Promise<OwnedDevice>) | undefined,
  platform: Platform<I>,
): Promise<ResNetModel<I>> {
  const optimized = optimize(settings.inputSize ? resizeGraph(loadedGraph, settings.inputSize) : loadedGraph);
  const graph = ownWeightNodes(optimized.graph);
  const info = adapter?.info ?? callerDeviceInfo(device);
  const lowering = { ...convLoweringFor(device, info, settings.convStrategy), winograd: settings.winograd ?? true };
  const base: Base<I> = {
    graph,
    settings,
    lowering,
    device,
    adapterName: adapter ? describeAdapter(adapter) : 'caller-provided device',
    lease: new DeviceLease(release),
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
  return assemble(base, graph, executor, settings.labels, recreate);
}

/**
 * The load-time autotune where asked or on by default (src/runtime/autotune.ts), its answers set on
 * `base`. Asked for where nothing can be timed: an InputError. On by default and failing: the built-in
 * tilings, with the reason in the report.
 */
async function autotune<I>(
  base: Base<I>,
  info: Partial<GPUAdapterInfo> | undefined,
  kept?: KeptConstants,
): Promise<Autotuned | undefined> {
  const { settings, lowering, device, graph, platform } = base;
  const batches = autotuneBatches(settings.autotune, lowering, device, info, platform.preciseTimestamps === true);
  if (typeof batches === 'string') throw new InputError(batches);
  if (!batches) return undefined;
  const started = performance.now();
  try {
    const planFor = (tuned: TunedTilings) => plannerOf({ ...base, tuned }, graph);
    const tuning = await autotuneTilings({
      device,
      graph,
      batches,
      planFor,
      info,
      storage: settings.precision,
      kept,
      store: platform.tuningStore,
    });
    Object.assign(base, { tuned: tuning.tuned, autotune: tuning.report });
    return tuning;
  } catch (err) {
    if (settings.autotune !== undefined) throw err;
    base.autotune = {
      batches,
      shapes: 0,
      timed: 0,
      ms: performance.now() - started,
      changed: [],
      skipped: `timing failed (${(err as Error).message}): the built-in tilings are used`,
    };
    return undefined;
  }
}

/** Plans `graph` (the base's, or one with another head) for a batch and a variant. */
function plannerOf<I>(
  { lowering, settings, device, tuned }: Pick<Base<I>, 'lowering' | 'settings' | 'device' | 'tuned'>,
  graph: Graph,
) {
  const blocks = residualBlocks(graph);
  return (batch: number, variant: Variant) =>
    planWithinMemory(
      variant.skipped.length ? skipBlocks(graph, blocks, variant.skipped) : graph,
      {
        ...lowering,
        batch,
        weightStorage: settings.precision,
        classActivationMaps: variant.classActivationMaps,
        conv: tuned.get(batch),
      },
      device.limits.minStorageBufferOffsetAlignment,
    );
}

/** The model of `graph` on `executor`: its info, labels and blocks; withHead makes more from the base. */
function assemble<I>(
  base: Base<I>,
  graph: Graph,
  executor: Executor,
  givenLabels: readonly string[] | undefined,
  recreate?: () => Promise<OwnedDevice>,
): ResNetModel<I> {
  const classes = graph.shapes.get(graph.output)![2];
  const labels = givenLabels ?? Array.from({ length: classes }, (_, i) => `class ${i}`);
  if (labels.length !== classes)
    throw new InputError(`${labels.length} labels given for a model with ${classes} outputs`);
  const { plan } = executor.plans.get(1, INTACT);
  const info: ModelInfo = {
    name: graph.name,
    adapter: base.adapterName,
    inputShape: [...graph.shapes.get(graph.input)!],
    classes,
    features: plan.outputs.features ? graph.shapes.get(plan.outputs.features)![2] : 0,
    weightBytes: executor.constantBytes,
    arenaBytesBatch1: executor.arenaLayout(1).bytes,
    pipelines: executor.pipelineCount,
    dispatches: plan.steps.length,
    convStrategy: base.lowering.convStrategy,
    precision: base.settings.precision,
    passes: base.report,
    ...(base.origin && { weightsFrom: base.origin }),
    ...(base.autotune && { autotune: base.autotune }),
  };
  const runner = new RecoveringExecutor(executor, base.lease.hold(), recreate);
  const { decode, upload } = base.platform;
  let heads = 0;
  const withHead = async (head: Head): Promise<ResNetModel<I>> => {
    const headed = graphWithHead(base.graph, checkHead(head), `head${++heads > 1 ? heads : ''}`);
    const shared = await Executor.create(runner.now.device, plannerOf(base, headed), undefined, runner.now); // after a recovery, the new device
    return assemble(base, headed, shared, head.labels);
  };
  return new ResNetModel({
    runner,
    decode,
    upload,
    labels,
    preprocessing: base.settings.preprocessing,
    info,
    blocks: residualBlocks(graph),
    outputs: plan.outputs,
    classifier: classifierOf(graph),
    withHead,
  });
}

/** The graph with its own copies of the conv and dense nodes (weights shared), so releasing them touches nothing a caller holds. */
function ownWeightNodes(graph: Graph): Graph {
  return { ...graph, nodes: graph.nodes.map((n) => (n.op === 'conv2d' || n.op === 'dense' ? { ...n } : n)) };
}

const RELEASED = new Float32Array(0);

/**
 * Once the weights are on the GPU, the nodes keep their shapes and biases only: no JS copy of the weights
 * outlives the load (a page keeps what the GPU holds, not a second f32 copy). Plans for other batch sizes
 * and variants name the constants already uploaded (src/runtime/constants.ts refuses anything else).
 */
function releaseWeights(graph: Graph): void {
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'dense') continue;
    node.weights = RELEASED;
    delete node.quantized;
  }
}

/**
 * What a caller's device says of its adapter (which kernels suit it). Not asked in Deno: there, reading
 * device.adapterInfo after the adapter was garbage-collected aborts the process; pass `adapter` instead.
 */
function callerDeviceInfo(device: GPUDevice): GPUAdapterInfo | undefined {
  if ('Deno' in globalThis) return undefined;
  return (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
}

/** The map size and dense bias of a network that ends in a global average pool read by one dense layer (else undefined). */
function classifierOf(graph: Graph): Classifier | undefined {
  const { pool, dense } = classifierHead(graph.nodes);
  if (!pool || !dense) return undefined;
  const [height, width, channels] = graph.shapes.get(pool.inputs[0]!)!;
  return channels % 4 === 0 ? { height, width, bias: dense.bias } : undefined;
}

/**
 * A model put together (src/api/create.ts builds the parts): its info, labels, residual blocks and
 * classifier, the executor that recovers on a new device when asked, and how to make models that share
 * its network on the GPU (withHead). And what an entry supplies to all of it: a Platform.
 */
import { InputError } from '../errors.js';
import { type ResidualBlock, residualBlocks } from '../graph/blocks.js';
import { classifierHead, type Graph } from '../graph/graph.js';
import { checkHead, graphWithHead, type Head } from '../graph/head.js';
import type { OptimizeReport } from '../graph/passes.js';
import type { LoadedGraph } from '../loaders/formats.js';
import { isWeighted } from '../operators/index.js';
import { describeNetwork } from '../graph/describe.js';
import type { ConvLowering } from '../operators/conv-algorithm.js';
import { INTACT, type Planner } from '../plan/plan-cache.js';
import type { AutotuneReport, TunedTilings } from '../runtime/autotune.js';
import { Executor } from '../runtime/executor.js';
import { RecoveringExecutor } from '../runtime/recovery.js';
import type { TuningAnswers } from '../runtime/tuning-answers.js';
import type { Classifier } from './explain.js';
import { type ModelTrainerFactory, ResNetModel } from './model.js';
import type { ModelSettings } from './settings.js';
import type { BlockInfo, ImageDecoder, ImageUploader, ModelInfo } from './types.js';

/** A GPU device the engine owns, and how to give it back. */
export interface OwnedDevice {
  device: GPUDevice;
  adapter?: GPUAdapter;
  release: () => void;
}

/** What an entry supplies: its images, a device of its own, the autotune's answers, training. */
export interface Platform<I> {
  decode: ImageDecoder<I>;
  /** Where images can go to the GPU as textures (browsers). */
  upload?: ImageUploader<I>;
  /** Where the platform has files (Node): reads one, for a head given by its path. */
  readFile?: (path: string) => Promise<Uint8Array>;
  acquireDevice: () => Promise<OwnedDevice>;
  /** The autotune's answers: the entry's, kept for its process (and in its store: a file in Node, localStorage in a
   * page). */
  tuning: () => TuningAnswers;
  /** What model.trainer() makes (src/train/trainer.ts: the API knows training only by its types). */
  trainer: ModelTrainerFactory<I>;
}

/** The device a model runs on, shared by the models made from it (withHead): released when the last lets go. */
export class DeviceLease {
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
export interface Base<I> {
  graph: Graph;
  settings: ModelSettings;
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

/** What assemble needs of the loading sequence: a new device after a loss (recover: true), and the planner of a graph.
 * */
export interface Assembly<I> {
  recreate?: () => Promise<OwnedDevice>;
  plannerOf: (base: Base<I>, graph: Graph) => Planner;
}

/** What the model says of itself (ModelInfo), from its graph, its executor and how it was built. */
function modelInfo<I>(base: Base<I>, graph: Graph, executor: Executor): ModelInfo {
  const { plan } = executor.plans.get(1, INTACT);
  return {
    name: graph.name,
    architecture: describeNetwork(graph),
    ...(base.settings.labelsFrom && { labelsFrom: base.settings.labelsFrom }),
    adapter: base.adapterName,
    inputShape: [...graph.shapes.get(graph.input)!],
    classes: graph.shapes.get(graph.output)![2],
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
}

/** The model of `graph` on `executor`: its info, labels and blocks; withHead makes more from the base. */
export function assemble<I>(
  base: Base<I>,
  graph: Graph,
  executor: Executor,
  givenLabels: readonly string[] | undefined,
  assembly: Assembly<I>,
): ResNetModel<I> {
  const info = modelInfo(base, graph, executor);
  const labels = givenLabels ?? Array.from({ length: info.classes }, (_, i) => `class ${i}`);
  if (labels.length !== info.classes) {
    throw new InputError(`${labels.length} labels given for a model with ${info.classes} outputs`);
  }
  const runner = new RecoveringExecutor(executor, base.lease.hold(), assembly.recreate);
  const { decode, upload, trainer } = base.platform;
  let heads = 0;
  // a name no node of the base has: its weights on the GPU are named after it (a loaded head is `head`)
  const taken = new Set(base.graph.nodes.map((n) => n.name));
  const headName = () => {
    let name: string;
    do name = `head${++heads > 1 ? heads : ''}`;
    while (taken.has(name));
    return name;
  };
  const withHead = async (head: Head): Promise<ResNetModel<I>> => {
    const headed = graphWithHead(base.graph, checkHead(head), headName());
    // after a recovery, on the new device
    const shared = await Executor.create(runner.now.device, assembly.plannerOf(base, headed), undefined, runner.now);
    return assemble(base, headed, shared, head.labels, { plannerOf: assembly.plannerOf });
  };
  const { plan } = executor.plans.get(1, INTACT);
  return new ResNetModel({
    runner,
    decode,
    upload,
    labels,
    preprocessing: base.settings.preprocessing,
    info,
    blocks: residualBlocks(graph).map(blockInfo),
    outputs: plan.outputs,
    classifier: classifierOf(graph),
    withHead,
    trainer,
  });
}

/** A residual block as the API names it (ResNetModel.blocks). */
const blockInfo = (b: ResidualBlock): BlockInfo => ({
  name: b.name,
  stage: b.stage,
  index: b.index,
  projection: b.projection !== undefined,
  shortcut: b.projection,
  inputShape: [...b.inputShape],
  outputShape: [...b.outputShape],
  layers: [...b.layers],
});

const RELEASED = new Float32Array(0);

/**
 * Once the weights are on the GPU, the nodes keep their shapes and biases only: no JS copy of the weights
 * outlives the load (a page keeps what the GPU holds, not a second f32 copy). Plans for other batch sizes
 * and variants name the constants already uploaded (src/runtime/constants.ts refuses anything else).
 */
export function releaseWeights(graph: Graph): void {
  for (const node of graph.nodes) {
    if (!isWeighted(node)) continue;
    node.weights = RELEASED;
    if ('quantized' in node) delete node.quantized;
  }
}

/** The map size and dense bias of a network that ends in a global average pool read by one dense layer (else
 * undefined). */
function classifierOf(graph: Graph): Classifier | undefined {
  const { pool, dense } = classifierHead(graph.nodes);
  if (!pool || !dense) return undefined;
  const [height, width, channels] = graph.shapes.get(pool.input)!;
  return channels % 4 === 0 ? { height, width, bias: dense.bias } : undefined;
}

/**
 * A loaded ResNet -> a compact safetensors file: torchvision names (conv1, layerS.B.convN,
 * layerS.B.downsample.0, fc; a network read from a torchvision or timm state_dict keeps its own, so every
 * family member the loader reads: deep stems conv1.0/.3/.6, avg-pool shortcuts, se.fc1/fc2), BatchNormalization
 * already folded into each conv (so a conv has `.weight` and `.bias` and there are no bn tensors), weights
 * in f32, f16 or int8 (symmetric per output channel: `<name>.weight` I8 and `<name>.weight_scale` F32,
 * weight = q * scale; biases stay F32), and a `__metadata__` that says everything a loader needs: depth,
 * definition, precision, preprocessing and labels (and a legacy SENet's stem_pool and branch_relu).
 * src/loaders/safetensors.ts reads it back with no other option.
 */
import { ModelFormatError } from '../errors.js';
import { RESNET_SPECS, type ResNetDefinition } from '../arch/resnet.js';
import { residualBlocks } from '../graph/blocks.js';
import { type Graph, weightDepth } from '../graph/graph.js';
import type { Conv2dNode, DenseNode, SqueezeExciteNode } from '../operators/index.js';
import { resnetDepth } from '../graph/describe.js';
import { scaleShift } from '../kernels/batchnorm.js';
import { int8Weights, type WeightStorage } from '../kernels/weight-storage.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import { floatToHalf } from '../util/half.js';
import { HWIO_TO_OIHW, permute, TRANSPOSE } from '../util/layout.js';
import { writeSafetensors, type TensorToWrite } from './safetensors.js';

/** The `__metadata__` keys of a compact file (all values are strings, as safetensors requires). */
export const COMPACT_FORMAT = 'webgpu-resnet-compact/1';

export interface CompactOptions {
  precision: WeightStorage;
  preprocessing: Preprocessing;
  labels: readonly string[];
  /** Where the weights came from (recorded in the metadata). */
  source?: string;
  /** The input size the file is for, when not the weights' own (recorded; a load then plans for it). */
  inputSize?: [number, number];
}

/** A state_dict name of a conv, dense or squeeze-and-excitation node (torchvision's and timm's). */
const STATE_DICT_NAME = /^(conv1(\.\d)?|fc|layer\d\.\d+\.(conv\d|downsample\.\d|se))$/;
/** timm's ResNetV2 names of its convs, its head and its final (standalone) BatchNorm. */
const V2_NAME = /^(stem\.conv\d?|head\.fc|norm|stages\.\d+\.blocks\.\d+\.(conv\d|downsample\.conv|norm1))$/;

/**
 * The names of a graph built from a torchvision / timm state_dict (any family member: its nodes keep the
 * file's names; timm's ResNetV2 too), or undefined when some weighted node has another name (Keras, ONNX).
 */
function stateDictNames(graph: Graph): ReturnType<typeof torchvisionNames> | undefined {
  const layers = graph.nodes.filter(
    (n) => n.op === 'conv2d' || n.op === 'dense' || n.op === 'squeezeexcite' || n.op === 'batchnorm',
  );
  if (layers.every((n) => V2_NAME.test(n.name)))
    return {
      names: new Map(layers.map((n) => [n.name, n.name])),
      depth: resnetDepth(graph),
      definition: 'torchvision',
    };
  if (!layers.every((n) => STATE_DICT_NAME.test(n.name))) return undefined;
  const bottleneck = layers.some((n) => n.name.endsWith('.conv3'));
  const strided = layers.some((n) => n.op === 'conv2d' && n.name.endsWith('.conv1') && n.strides[0] === 2);
  const definition: ResNetDefinition = bottleneck && strided ? 'keras-v1' : 'torchvision';
  return { names: new Map(layers.map((n) => [n.name, n.name])), depth: resnetDepth(graph), definition };
}

/** torchvision's name for each conv and dense node of an optimized ResNet graph, and its definition. */
function torchvisionNames(graph: Graph): { names: Map<string, string>; depth: number; definition: ResNetDefinition } {
  const depth = weightDepth(graph);
  const spec = RESNET_SPECS[depth];
  const blocks = residualBlocks(graph);
  const convs = graph.nodes.filter((n): n is Conv2dNode => n.op === 'conv2d');
  const dense = graph.nodes.filter((n): n is DenseNode => n.op === 'dense');
  const perBlock = spec?.block === 'bottleneck' ? 3 : 2;
  if (!spec || blocks.length !== spec.stages.reduce((a, b) => a + b, 0) || dense.length !== 1) {
    throw new ModelFormatError(
      `${graph.name}: not a ResNet-18/34/50/101/152 in the torchvision layout (${blocks.length} residual blocks, ` +
        `${dense.length} dense layers), so it cannot be written as a compact safetensors file`,
    );
  }
  const names = new Map<string, string>([
    [convs[0]!.name, 'conv1'],
    [dense[0]!.name, 'fc'],
  ]);
  let definition: ResNetDefinition = 'torchvision';
  for (const block of blocks) {
    const branch = block.layers.filter((l) => convs.some((c) => c.name === l));
    if (branch.length !== perBlock)
      throw new ModelFormatError(
        `${graph.name}: block ${block.name} has ${branch.length} convs on its residual branch, expected ${perBlock}`,
      );
    for (const [i, l] of branch.entries()) names.set(l, `${block.name}.conv${i + 1}`);
    if (block.projection) names.set(block.projection, `${block.name}.downsample.0`);
    // a squeeze-and-excitation gate: what the block's gated add reads
    const end = graph.nodes.find((n) => n.name === block.end);
    if (end?.op === 'add' && end.gate) names.set(end.gate, `${block.name}.se`);
    const first = convs.find((c) => c.name === branch[0])!;
    if (perBlock === 3 && first.strides[0] === 2) definition = 'keras-v1';
  }
  const gates = graph.nodes.filter((n) => n.op === 'squeezeexcite');
  const unnamed = [...convs, ...dense, ...gates].filter((n) => !names.has(n.name));
  if (unnamed.length)
    throw new ModelFormatError(
      `${graph.name}: layers outside the ResNet structure: ${unnamed.map((n) => n.name).join(', ')}`,
    );
  return { names, depth, definition };
}

/**
 * What a legacy SENet's graph has that torchvision's names cannot show (src/loaders/safetensors.ts reads it
 * back): a stem max pool in ceil mode, and a ReLU on a branch before its residual sum (a conv with ReLU feeding
 * an add's branch; a fused residual's ReLU follows the sum and is not one).
 */
function legacyTraits(graph: Graph): Record<string, string> {
  const reluConvs = new Set(graph.nodes.filter((n) => n.op === 'conv2d' && n.relu).map((n) => n.output));
  return {
    ...(stemPool(graph) === 'ceil' && { stem_pool: 'ceil' }),
    ...(graph.nodes.some((n) => n.op === 'add' && reluConvs.has(n.input)) && { branch_relu: 'true' }),
  };
}

/**
 * The stem's max pool as a compact file can rebuild it: 3x3/2 padded by 1 (its padding ignored, or zeros after a
 * ReLU, Keras' ZeroPadding2D), or unpadded in ceil mode (legacy SENet); any other is refused, not rebuilt wrongly.
 */
function stemPool(graph: Graph): 'padded' | 'ceil' {
  const pool = graph.nodes.find((n) => n.op === 'maxpool');
  if (!pool) throw new ModelFormatError(`${graph.name}: no stem max pool: not a ResNet a compact file can hold`);
  const window = pool.size.join() === '3,3' && pool.strides.join() === '2,2';
  if (window && pool.pads.every((p) => p === 1) && !pool.ceilMode) return 'padded';
  if (window && pool.pads.every((p) => p === 0) && pool.ceilMode) return 'ceil';
  throw new ModelFormatError(
    `${graph.name}: stem max pool ${pool.name} (${pool.size.join('x')}/${pool.strides[0]}, pads [${pool.pads}]` +
      `${pool.ceilMode ? ', ceil mode' : ''}) is neither ResNet's (3x3/2 padded by 1) nor legacy SENet's (3x3/2 ` +
      `unpadded, ceil mode): a compact file could not rebuild it`,
  );
}

/** The weight tensor(s) of one layer in PyTorch layout and the chosen precision. */
function weightTensors(name: string, node: Conv2dNode | DenseNode, precision: WeightStorage): TensorToWrite[] {
  const cout = node.bias.length;
  const rows = node.weights.length / cout;
  const [dims, perm, shape] =
    node.op === 'conv2d'
      ? [
          [node.kernel[0], node.kernel[1], rows / (node.kernel[0] * node.kernel[1]), cout],
          HWIO_TO_OIHW,
          [cout, rows / (node.kernel[0] * node.kernel[1]), node.kernel[0], node.kernel[1]],
        ]
      : [[rows, cout], TRANSPOSE, name === 'head.fc' ? [cout, rows, 1, 1] : [cout, rows]]; // (timm v2's: a 1x1 conv)
  if (precision === 'int8') {
    const { values, scales } = int8Weights(node, rows, cout);
    return [
      { name: `${name}.weight`, shape, data: permute(values, dims, perm) },
      { name: `${name}.weight_scale`, shape: [cout], data: scales },
    ];
  }
  const w = permute(node.weights, dims, perm);
  return [{ name: `${name}.weight`, shape, data: precision === 'f16' ? Uint16Array.from(w, floatToHalf) : w }];
}

/** A squeeze-and-excitation gate's tensors as timm names them (se.fc1/fc2, 1x1 convs with biases), f32 always. */
function gateTensors(node: SqueezeExciteNode, name: string): TensorToWrite[] {
  const rd = node.reduced;
  const c = node.bias.length - rd;
  const fc1 = permute(node.weights.subarray(0, c * rd), [c, rd], TRANSPOSE);
  const fc2 = permute(node.weights.subarray(c * rd), [rd, c], TRANSPOSE);
  return [
    { name: `${name}.fc1.weight`, shape: [rd, c, 1, 1], data: fc1 },
    { name: `${name}.fc1.bias`, shape: [rd], data: node.bias.slice(0, rd) },
    { name: `${name}.fc2.weight`, shape: [c, rd, 1, 1], data: fc2 },
    { name: `${name}.fc2.bias`, shape: [c], data: node.bias.slice(rd) },
  ];
}

/**
 * A BatchNorm no conv took, in its affine form (`.weight` the scale, `.bias` the shift: timm's ResNetV2 names,
 * src/arch/resnet-v2.ts reads them back): the final norm, or a block's norm1 its convs apply as they read.
 */
function affineTensors(name: string, scale: Float32Array, shift: Float32Array): TensorToWrite[] {
  return [
    { name: `${name}.weight`, shape: [scale.length], data: scale },
    { name: `${name}.bias`, shape: [shift.length], data: shift },
  ];
}

/** The standalone BatchNorm and pre-activation tensors of a ResNetV2 graph (timm's names), each norm once. */
function preActivationTensors(graph: Graph, names: Map<string, string>): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  const written = new Set<string>();
  for (const node of graph.nodes) {
    const notV2 = () =>
      new ModelFormatError(
        `${graph.name}: ${node.name}'s pre-activation: compact files hold those under timm's ResNetV2 names only ` +
          `(stages.S.blocks.B.norm1 before conv1 and downsample.conv, norm)`,
      );
    if (node.op === 'batchnorm') {
      if (!names.has(node.name)) throw notV2();
      const { scale, shift } = scaleShift(node);
      out.push(...affineTensors(node.name, scale, shift));
    }
    if (node.op !== 'conv2d' || !node.preact) continue;
    const norm = /^(stages\.\d+\.blocks\.\d+)\.(conv1|downsample\.conv)$/.exec(names.get(node.name) ?? '');
    if (!norm) throw notV2();
    if (!written.has(norm[1]!)) out.push(...affineTensors(`${norm[1]}.norm1`, node.preact.scale, node.preact.shift));
    written.add(norm[1]!);
  }
  return out;
}

/** The compact safetensors bytes of an optimized ResNet graph (BatchNorm folded, as `optimize` leaves it). */
export function compactSafetensors(graph: Graph, options: CompactOptions): Uint8Array {
  const fromStateDict = stateDictNames(graph);
  const preActivated = graph.nodes.find((n) => n.op === 'batchnorm' || (n.op === 'conv2d' && n.preact));
  if (preActivated && !fromStateDict)
    throw new ModelFormatError(
      `${graph.name}: a BatchNorm that follows no conv (${preActivated.name}: a pre-activation ResNet's, or a ` +
        `graph not optimized): compact files hold those under timm's ResNetV2 names only (read from a timm ` +
        `state_dict), not this graph's`,
    );
  const { names, depth, definition } = fromStateDict ?? torchvisionNames(graph);
  const classes = graph.shapes.get(graph.output)![2];
  if (options.labels.length !== classes)
    throw new ModelFormatError(`${options.labels.length} labels for ${classes} classes`);
  const tensors: TensorToWrite[] = preActivationTensors(graph, names);
  for (const node of graph.nodes) {
    if (node.op === 'squeezeexcite') tensors.push(...gateTensors(node, names.get(node.name)!));
    if (node.op !== 'conv2d' && node.op !== 'dense') continue;
    const name = names.get(node.name)!;
    tensors.push(...weightTensors(name, node, options.precision), {
      name: `${name}.bias`,
      shape: [node.bias.length],
      data: node.bias,
    });
  }
  return writeSafetensors(tensors, {
    format: COMPACT_FORMAT,
    depth: String(depth),
    definition,
    ...legacyTraits(graph),
    precision: options.precision,
    batchnorm: 'folded',
    ...(options.precision === 'int8' && {
      quantization: 'symmetric per output channel: weight = int8 value * weight_scale',
    }),
    preprocessing: JSON.stringify(options.preprocessing),
    labels: JSON.stringify(options.labels),
    ...(options.inputSize && { input_size: JSON.stringify(options.inputSize) }),
    ...(options.source && { source: options.source }),
  });
}

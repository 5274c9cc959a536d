/**
 * Which ResNet a torchvision / timm state_dict holds, from its tensor names and shapes alone: blocks per
 * stage (layerS.B), the block kind (a conv3 makes a bottleneck), the stem (conv1 or timm's deep conv1.0/.3/.6)
 * and the projection shortcut (downsample.0 conv, or ResNet-D's average pool then downsample.1 conv). Modules
 * of ResNet cousins the engine does not run are refused by name, before anything is built.
 */
import { ModelFormatError } from '../errors.js';
import type { ResNetArchitecture, ResNetDefinition } from '../arch/resnet.js';
import type { ResNetV2Architecture } from '../arch/resnet-v2.js';

/** Tensor names of family members the engine does not run: what they are, said in one line; the most telling first. */
const NOT_RUN: Array<[RegExp, string]> = [
  [/\.se\.conv\.weight$/, 'efficient channel attention (ECA-ResNet, timm `eca`)'],
  [/^layer\d\.\d+\.convs\.\d/, 'Res2Net multi-scale convolutions (timm res2net)'],
  [/^layer\d\.\d+\.conv\d\.paths\./, 'selective-kernel convolutions (timm skresnet)'],
  [/^layer\d\.\d+\.conv2\.(conv|fc1)\./, 'split-attention convolutions (ResNeSt, timm resnest*)'],
  [/^global_pool\.(attn|pool\.)/, 'an attention pooling head'],
  [/^maxpool\.\d+\./, "a strided conv in place of the stem's max pool (timm ResNet-RS, replace_stem_pool)"],
  [/\.gain$/, "a weight-standardized conv with a gain (timm's Normalizer-Free nf_resnet*, NFNet)"],
  [/^stages\.\d+\.\d+\./, "timm's ByobNet blocks (stages.S.B: resnet26ts, resnext26ts, gcresnet*, ...)"],
  [/^layer0\.(conv|bn)[23]\./, "SENet-154's three-conv stem (timm legacy_senet154, input_3x3)"],
  // last: the networks above may have attention modules of their own (skresnet's conv1.attn)
  [/\.(se\.(conv|proj|fc\.)|attn\.)/, 'a channel-attention module'],
];

/**
 * Whether a state_dict is folded (a compact file `convert` wrote): its stem conv has a bias and no bn1 follows
 * it (torchvision's conv1, timm's deep conv1.6, ResNetV2's stem.conv or deep stem.conv3).
 */
export function isFolded(shapes: ReadonlyMap<string, readonly number[]>): boolean {
  return (
    !shapes.has('bn1.weight') && ['conv1', 'conv1.6', 'stem.conv', 'stem.conv3'].some((c) => shapes.has(`${c}.bias`))
  );
}

/**
 * The blocks of a pre-activation ResNet (timm's ResNetV2: stem.conv or the deep stem.conv1..3,
 * stages.S.blocks.B.norm1 ...), or undefined for another state_dict. Norms without running statistics (BiT's and
 * resnetv2_*_gn's GroupNorm, resnetv2_*_evos' EvoNorm) are refused by name.
 */
export function preActivationOf(
  shapes: ReadonlyMap<string, readonly number[]>,
  where: string,
): ResNetV2Architecture | undefined {
  const deep = shapes.has('stem.conv1.weight') && shapes.has('stem.conv3.weight');
  if (!shapes.has('stem.conv.weight') && !deep) return undefined;
  refuseOutsideFamily(shapes, where);
  const stages: number[] = [];
  let bottleneck = false;
  for (const name of shapes.keys()) {
    const m = /^stages\.(\d+)\.blocks\.(\d+)\.(conv3)?/.exec(name);
    if (!m) continue;
    stages[Number(m[1])] = Math.max(stages[Number(m[1])] ?? 0, Number(m[2]) + 1);
    if (m[3]) bottleneck = true;
  }
  if (stages.length !== 4 || [...stages].some((n) => !n))
    throw new ModelFormatError(`${where}: stem.conv without four stages of blocks: not a timm ResNetV2 state_dict`);
  // GroupNorm and EvoNorm have no running statistics; a compact file's folded norm1 neither, but its convs have biases
  if (!shapes.has('stages.0.blocks.0.norm1.running_mean') && !isFolded(shapes)) {
    const norm = shapes.has('stages.0.blocks.0.norm1.v')
      ? 'an EvoNorm (timm resnetv2_*_evos)'
      : "a GroupNorm (BiT's resnetv2_*_bit, with weight-standardized convs, or resnetv2_*_gn)";
    throw new ModelFormatError(
      `${where}: tensor stages.0.blocks.0.norm1.weight belongs to ${norm}, a norm without running statistics, ` +
        `which this engine does not run (it runs ResNetV2 with BatchNorm)`,
    );
  }
  // timm's deep and tiered ResNetV2 stems (resnetv2_50d, _50t) all come with the average-pool shortcut, whose
  // pool has no tensor to show it: a deep stem stands for both, as in every ResNetV2 timm registers
  return { block: bottleneck ? 'bottleneck' : 'basic', stages, ...(deep && { stem: 'deep', shortcut: 'avgpool' }) };
}

/**
 * A norm with a scale but no running statistics is a GroupNorm (timm's resnet50_gn) or another norm this
 * engine does not run; said so, not "running_mean is missing". (A compact file's folded norms leave no bn.)
 */
function refuseNormsWithoutStatistics(shapes: ReadonlyMap<string, readonly number[]>, where: string): void {
  for (const name of shapes.keys()) {
    const norm = /^(.*\bbn\d*|.*\bdownsample\.1|conv1\.[14])\.weight$/.exec(name)?.[1];
    if (norm && shapes.get(name)!.length === 1 && !shapes.has(`${norm}.running_mean`))
      throw new ModelFormatError(
        `${where}: tensor ${name} is a norm without running statistics (${norm}.running_mean): a GroupNorm ` +
          `ResNet (timm resnet*_gn) or another norm, which this engine does not run (it runs BatchNorm ResNets)`,
      );
  }
}

/** Refuses a state_dict with a module of a cousin the engine does not run (NOT_RUN), naming the tensor. */
export function refuseOutsideFamily(shapes: ReadonlyMap<string, readonly number[]>, where: string): void {
  // pattern by pattern, and the first tensor by name: the same message whatever the order of the file's tensors
  for (const [pattern, what] of NOT_RUN) {
    const name = [...shapes.keys()].filter((n) => pattern.test(n)).sort()[0];
    if (name)
      throw new ModelFormatError(
        `${where}: tensor ${name} belongs to ${what}, which this engine does not run (it runs ResNet, ` +
          `ResNet-B/C/D, Wide ResNet, ResNeXt, SE-ResNet, ResNet v2)`,
      );
  }
}

/**
 * The architecture of a torchvision / timm state_dict (names already torchvision's). A legacy SENet file (timm's
 * legacy_se*, Cadene's pretrainedmodels) fixes what its names do not show: its stem's max pool has no padding
 * and rounds up (ceil_mode); a bottleneck without groups (SEResNetBottleneck) strides on its first 1x1 conv, the
 * grouped one (SEResNeXtBottleneck) on the 3x3 as torchvision; a basic block (SEResNetBlock) ends its branch with
 * a ReLU, before the gate.
 */
export function architectureOf(
  shapes: ReadonlyMap<string, readonly number[]>,
  where: string,
  definition: ResNetDefinition,
  layout: KeyLayout['layout'] = 'torchvision',
): ResNetArchitecture {
  refuseOutsideFamily(shapes, where);
  refuseNormsWithoutStatistics(shapes, where);
  const stages = [0, 0, 0, 0];
  let bottleneck = false;
  for (const name of shapes.keys()) {
    const m = /^layer([1-4])\.(\d+)\.(conv3)?/.exec(name);
    if (!m) continue;
    const s = Number(m[1]) - 1;
    stages[s] = Math.max(stages[s]!, Number(m[2]) + 1);
    if (m[3]) bottleneck = true;
  }
  if (stages.every((n) => n === 0))
    throw new ModelFormatError(`${where}: no layer1..layer4 tensors: not a torchvision/timm ResNet state_dict`);
  if (stages.some((n) => n === 0))
    throw new ModelFormatError(`${where}: blocks per stage [${stages}]: a ResNet has at least one block in each`);
  const stem = shapes.has('conv1.0.weight') ? 'deep' : 'plain';
  if (stem === 'plain' && !shapes.has('conv1.weight'))
    throw new ModelFormatError(
      `${where}: no stem: neither conv1.weight (7x7) nor conv1.0.weight (timm's deep stem) is in the file`,
    );
  const avgDown = [...shapes].some(
    ([name, shape]) => /^layer\d\.0\.downsample\.1\.weight$/.test(name) && shape.length === 4,
  );
  const se = [...shapes.keys()].some((name) => /^layer\d\.\d+\.se\.fc1\.weight$/.test(name));
  const shortcut = avgDown ? 'avgpool' : 'conv';
  const block = bottleneck ? 'bottleneck' : 'basic';
  if (layout === 'senet') {
    const grouped = (shapes.get('layer1.0.conv2.weight')?.[1] ?? 0) < (shapes.get('layer1.0.conv1.weight')?.[0] ?? 0);
    const strideOn = bottleneck && !grouped ? 'keras-v1' : 'torchvision';
    const legacy = { stemPool: 'ceil' as const, ...(block === 'basic' && { branchRelu: true }) };
    return { block, stages, definition: strideOn, stem, shortcut, ...legacy, ...(se && { se }) };
  }
  return { block, stages, definition, stem, shortcut, ...(se && { se }) };
}

/**
 * How a file names its tensors: torchvision's / timm's names, Hugging Face transformers' ResNet, or timm's legacy
 * SENet (layer0.conv1, se_module, last_linear; Cadene's pretrainedmodels).
 */
export interface KeyLayout {
  layout: 'torchvision' | 'transformers' | 'senet';
  /** The file's name for a torchvision name. */
  toFile(name: string): string;
  /** The torchvision name of a file's tensor (itself when it has no other). */
  fromFile(name: string): string;
}

const IDENTITY: KeyLayout = { layout: 'torchvision', toFile: (n) => n, fromFile: (n) => n };

type Rule = [RegExp, (m: RegExpExecArray) => string];

const applyRules = (rules: Rule[], name: string): string => {
  for (const [pattern, to] of rules) {
    const m = pattern.exec(name);
    if (m) return to(m) + name.slice(m[0].length);
  }
  return name;
};

/** transformers' ResNetForImageClassification names (modeling_resnet.py) -> torchvision's. */
const HF = '^(?:resnet\\.)?';
const STAGE = `${HF}encoder\\.stages\\.(\\d+)\\.layers\\.(\\d+)\\.`;
const tvBlock = (m: RegExpExecArray) => `layer${Number(m[1]) + 1}.${m[2]}`;
const FROM_TRANSFORMERS: Rule[] = [
  [new RegExp(`${HF}embedder\\.embedder\\.convolution\\.`), () => 'conv1.'],
  [new RegExp(`${HF}embedder\\.embedder\\.normalization\\.`), () => 'bn1.'],
  [new RegExp(`${STAGE}shortcut\\.convolution\\.`), (m) => `${tvBlock(m)}.downsample.0.`],
  [new RegExp(`${STAGE}shortcut\\.normalization\\.`), (m) => `${tvBlock(m)}.downsample.1.`],
  [new RegExp(`${STAGE}layer\\.(\\d)\\.convolution\\.`), (m) => `${tvBlock(m)}.conv${Number(m[3]) + 1}.`],
  [new RegExp(`${STAGE}layer\\.(\\d)\\.normalization\\.`), (m) => `${tvBlock(m)}.bn${Number(m[3]) + 1}.`],
  [/^classifier\.1\./, () => 'fc.'],
];

/** torchvision's names -> transformers' (`p`: "resnet." in a ResNetForImageClassification, "" in a ResNetModel). */
const toTransformers = (p: string): Rule[] => {
  const hfBlock = (m: RegExpExecArray) => `${p}encoder.stages.${Number(m[1]) - 1}.layers.${m[2]}`;
  return [
    [/^conv1\./, () => `${p}embedder.embedder.convolution.`],
    [/^bn1\./, () => `${p}embedder.embedder.normalization.`],
    [/^layer(\d)\.(\d+)\.downsample\.0\./, (m) => `${hfBlock(m)}.shortcut.convolution.`],
    [/^layer(\d)\.(\d+)\.downsample\.1\./, (m) => `${hfBlock(m)}.shortcut.normalization.`],
    [/^layer(\d)\.(\d+)\.conv(\d)\./, (m) => `${hfBlock(m)}.layer.${Number(m[3]) - 1}.convolution.`],
    [/^layer(\d)\.(\d+)\.bn(\d)\./, (m) => `${hfBlock(m)}.layer.${Number(m[3]) - 1}.normalization.`],
    [/^fc\./, () => 'classifier.1.'],
  ];
};

/** timm's legacy SENet names (senet.py: SENet, as Cadene's pretrainedmodels) <-> torchvision's. */
const FROM_SENET: Rule[] = [
  [/^layer0\.(conv1|bn1)\./, (m) => `${m[1]}.`],
  [/^(layer\d\.\d+)\.se_module\./, (m) => `${m[1]}.se.`],
  [/^last_linear\./, () => 'fc.'],
];
const TO_SENET: Rule[] = [
  [/^(conv1|bn1)\./, (m) => `layer0.${m[1]}.`],
  [/^(layer\d\.\d+)\.se\./, (m) => `${m[1]}.se_module.`],
  [/^fc\./, () => 'last_linear.'],
];

/**
 * The layout of a state_dict's names: transformers' when its stem is `[resnet.]embedder.embedder`, legacy SENet's
 * when it is `layer0.conv1`.
 */
export function keyLayout(names: Iterable<string>): KeyLayout {
  const all = [...names];
  if (all.includes('layer0.conv1.weight'))
    return {
      layout: 'senet',
      toFile: (name) => applyRules(TO_SENET, name),
      fromFile: (name) => applyRules(FROM_SENET, name),
    };
  const stem = all.find((n) => /^(resnet\.)?embedder\.embedder\.convolution\.weight$/.test(n));
  if (!stem) return IDENTITY;
  const rules = toTransformers(stem.startsWith('resnet.') ? 'resnet.' : '');
  return {
    layout: 'transformers',
    toFile: (name) => applyRules(rules, name),
    fromFile: (name) => applyRules(FROM_TRANSFORMERS, name),
  };
}

/**
 * safetensors (torchvision / timm state_dict) -> ResNet graph IR. The header is parsed defensively: its
 * length must fit the file, every tensor's byte range must lie in the data section, match its dtype and
 * shape, and not overlap another; F32, F16 and BF16 are converted to f32; I8 weights need a
 * `<name>_scale` F32 tensor (one scale per output channel) and are kept as int8 too. Depth and definition
 * are inferred from the tensor names and shapes unless given; a disagreement is an error. A compact file
 * (src/export/compact.ts: BatchNorm folded, `__metadata__` with depth, definition, precision,
 * preprocessing and labels) needs no other option.
 */
import { ModelFormatError } from '../errors.js';
import { buildResNet, depthOf, type ResNetArchitecture, type ResNetDefinition } from '../arch/resnet.js';
import { buildResNetV2 } from '../arch/resnet-v2.js';
import type { DeclaredSettings, Graph } from '../graph/graph.js';
import type { QuantizedWeights } from '../ir/tensor.js';
import { halfToFloat } from '../util/half.js';
import { parsePreprocessing } from './declared-preprocessing.js';
import { finiteTensor } from './finite.js';
import { architectureOf, isFolded, keyLayout, preActivationOf } from './state-dict.js';

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const KNOWN_DTYPES = new Set([
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'U16',
  'U32',
  'U64',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
]);
const MAX_HEADER = 100 * 2 ** 20;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface TensorEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The `__metadata__` format of a head-only file (src/graph/head.ts): a classifier, not a network. */
export const HEAD_FORMAT = 'webgpu-resnet-head/1';

export class SafetensorsFile {
  readonly entries = new Map<string, TensorEntry>();
  readonly metadata: Record<string, string> = {};
  private readonly data: Uint8Array;

  constructor(
    bytes: Uint8Array,
    readonly where: string,
  ) {
    if (bytes.length < 8)
      throw new ModelFormatError(
        `${where}: ${bytes.length} bytes, too short for a safetensors file (8-byte header length first)`,
      );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lo = view.getUint32(0, true),
      hi = view.getUint32(4, true);
    const headerLength = hi * 2 ** 32 + lo;
    if (headerLength > bytes.length - 8 || headerLength > MAX_HEADER) {
      throw new ModelFormatError(
        `${where}: header length ${headerLength} runs past the end of the file (${bytes.length} bytes) or over ` +
          `${MAX_HEADER} bytes; not a safetensors file or truncated`,
      );
    }
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
    } catch (err) {
      throw new ModelFormatError(
        `${where}: the ${headerLength}-byte header is not valid JSON (${(err as Error).message})`,
      );
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      throw new ModelFormatError(`${where}: the header must be a JSON object`);
    this.data = bytes.subarray(8 + headerLength);
    for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string')) {
          throw new ModelFormatError(`${where}: __metadata__ must map names to strings`);
        }
        Object.assign(this.metadata, value);
        continue;
      }
      const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const ctx = `${where}: tensor ${name}`;
      if (typeof v?.dtype !== 'string') throw new ModelFormatError(`${ctx}: no dtype`);
      if (!KNOWN_DTYPES.has(v.dtype)) throw new ModelFormatError(`${ctx}: unknown dtype ${JSON.stringify(v.dtype)}`);
      if (!Array.isArray(v.shape) || v.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
        throw new ModelFormatError(`${ctx}: bad shape ${JSON.stringify(v.shape)}`);
      const offsets = v.data_offsets;
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offsets[0] > offsets[1]
      ) {
        throw new ModelFormatError(`${ctx}: bad data_offsets ${JSON.stringify(offsets)}`);
      }
      const [begin, end] = offsets as [number, number];
      if (end > this.data.length)
        throw new ModelFormatError(
          `${ctx}: data_offsets [${begin}, ${end}] run past the data section (${this.data.length} bytes)`,
        );
      let count = 1;
      for (const d of v.shape as number[]) {
        count *= d;
        if (!Number.isSafeInteger(count))
          throw new ModelFormatError(
            `${ctx}: shape ${JSON.stringify(v.shape)} has more elements than can be addressed`,
          );
      }
      const per = DTYPE_BYTES[v.dtype] ?? { F64: 8, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2 }[v.dtype] ?? 1;
      if (count * per !== end - begin) {
        throw new ModelFormatError(
          `${ctx}: ${end - begin} bytes for shape [${v.shape}] of ${v.dtype}, expected ${count * per}`,
        );
      }
      this.entries.set(name, { dtype: v.dtype, shape: v.shape as number[], begin, end });
    }
    const sorted = [...this.entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
    for (let i = 1; i < sorted.length; i++) {
      const [prevName, prev] = sorted[i - 1]!,
        [name, cur] = sorted[i]!;
      if (cur.begin < prev.end)
        throw new ModelFormatError(
          `${where}: tensors ${prevName} [${prev.begin}, ${prev.end}] and ${name} [${cur.begin}, ${cur.end}] overlap`,
        );
    }
  }

  private entry(name: string, shape?: number[]): TensorEntry {
    const e = this.entries.get(name);
    if (!e)
      throw new ModelFormatError(
        `${this.where}: tensor ${name} is missing${shape ? ` (expected shape [${shape}])` : ''}`,
      );
    if (shape && e.shape.join() !== shape.join())
      throw new ModelFormatError(`${this.where}: tensor ${name} has shape [${e.shape}], expected [${shape}]`);
    return e;
  }

  /** An I8 tensor and its per-output-channel (first axis) scales `<name>_scale`; undefined when the tensor is not I8.
   * */
  quantized(name: string): QuantizedWeights | undefined {
    const e = this.entry(name);
    if (e.dtype !== 'I8') return undefined;
    const scales = this.get(`${name}_scale`, [e.shape[0] ?? 1]);
    if (scales.some((s) => !Number.isFinite(s) || s < 0))
      throw new ModelFormatError(`${this.where}: tensor ${name}_scale has a negative or non-finite scale`);
    return {
      values: new Int8Array(this.data.buffer.slice(this.data.byteOffset + e.begin, this.data.byteOffset + e.end)),
      scales,
    };
  }

  /** The tensor converted to f32 (I8: times its scales); `shape` (when given) must match. */
  get(name: string, shape?: number[]): Float32Array {
    return finiteTensor(this.decode(name, shape), this.where, name);
  }

  private decode(name: string, shape?: number[]): Float32Array {
    const e = this.entry(name, shape);
    if (e.dtype === 'I8') {
      const { values, scales } = this.quantized(name)!;
      const per = values.length / Math.max(1, scales.length);
      return Float32Array.from(values, (q, i) => q * scales[Math.floor(i / per)]!);
    }
    if (!(e.dtype in DTYPE_BYTES))
      throw new ModelFormatError(
        `${this.where}: tensor ${name} is ${e.dtype}; only F32, F16, BF16 and (with a _scale tensor) I8 weights ` +
          `are supported`,
      );
    const raw = this.data.subarray(e.begin, e.end);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = e.dtype === 'F32' ? raw.length / 4 : raw.length / 2;
    if (e.dtype === 'F32') {
      if (LITTLE_ENDIAN) return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    if (e.dtype === 'BF16') {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    return out;
  }
}

export interface ResNetWeightsOptions {
  /** Expected depth (18, 34, 50, 101, 152); inferred from the tensors when absent. */
  depth?: number;
  /** Default 'torchvision' (what torchvision and timm weights are). */
  definition?: ResNetDefinition;
  /** BatchNorm epsilon, when not the definition's (1e-5 torchvision, 1e-3 keras-v1). */
  epsilon?: number;
}

/** What a compact file's `__metadata__` declares (every key optional; a malformed one is an error naming it). */
function declared(
  metadata: Record<string, string>,
  where: string,
  classes: number,
): DeclaredSettings & { depth?: number; definition?: ResNetDefinition } {
  const bad = (key: string, why: string): never => {
    throw new ModelFormatError(`${where}: __metadata__ ${key} ${why}`);
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]!);
    } catch {
      return bad(key, 'is not valid JSON');
    }
  };
  const out: DeclaredSettings & { depth?: number; definition?: ResNetDefinition } = {};
  const { depth, definition, precision } = metadata;
  if (depth !== undefined)
    out.depth = /^[1-9]\d*$/.test(depth) ? Number(depth) : bad('depth', `${JSON.stringify(depth)} is not a depth`);
  if (definition !== undefined)
    out.definition =
      definition === 'torchvision' || definition === 'keras-v1'
        ? definition
        : bad('definition', `${JSON.stringify(definition)} is not torchvision or keras-v1`);
  if (precision !== undefined)
    out.precision =
      precision === 'f32' || precision === 'f16' || precision === 'int8'
        ? precision
        : bad('precision', `${JSON.stringify(precision)} is not f32, f16 or int8`);
  if (metadata.preprocessing !== undefined)
    out.preprocessing = parsePreprocessing(metadata.preprocessing, `${where}: __metadata__`);
  if (metadata.input_size !== undefined) {
    const size = json('input_size');
    if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0))
      bad('input_size', 'must be a JSON array [height, width] of positive integers');
    out.inputSize = size as [number, number];
  }
  if (metadata.labels !== undefined) {
    const labels = json('labels');
    if (!Array.isArray(labels) || labels.length !== classes || labels.some((l) => typeof l !== 'string'))
      bad('labels', `must be a JSON array of ${classes} strings (one per class)`);
    out.labels = labels as string[];
  }
  return out;
}

/**
 * What a compact file's `__metadata__` says of a legacy SENet (src/export/compact.ts writes it): `stem_pool`
 * 'ceil' and `branch_relu` 'true', which its torchvision names cannot show.
 */
function withLegacyTraits(arch: ResNetArchitecture, metadata: Record<string, string>, where: string) {
  const { stem_pool: pool, branch_relu: relu } = metadata;
  if (pool !== undefined && pool !== 'ceil')
    throw new ModelFormatError(`${where}: __metadata__ stem_pool "${pool}" is not "ceil"`);
  if (relu !== undefined && relu !== 'true')
    throw new ModelFormatError(`${where}: __metadata__ branch_relu "${relu}" is not "true"`);
  return { ...arch, ...(pool && { stemPool: pool }), ...(relu && { branchRelu: true }) } as ResNetArchitecture;
}

export function loadSafetensorsResNet(bytes: Uint8Array, where: string, options: ResNetWeightsOptions = {}): Graph {
  const file = new SafetensorsFile(bytes, where);
  if (file.metadata.format === HEAD_FORMAT)
    throw new ModelFormatError(
      `${where}: a head-only file (a classifier for a base network's features): load a base and pass this as head ` +
        `(CLI: --head)`,
    );
  const layout = keyLayout(file.entries.keys());
  const shapes = new Map([...file.entries].map(([name, e]) => [layout.fromFile(name), e.shape]));
  const classes = (shapes.get('fc.bias') ?? shapes.get('head.fc.bias'))?.[0] ?? 1000;
  const { depth: declaredDepth, definition, ...settings } = declared(file.metadata, where, classes);
  const v2 = preActivationOf(shapes, where);
  const architecture = v2
    ? undefined
    : withLegacyTraits(
        architectureOf(shapes, where, options.definition ?? definition ?? 'torchvision', layout.layout),
        file.metadata,
        where,
      );
  // a legacy SENet file says where its bottlenecks stride: a definition asked for that contradicts it is an error
  const strided = layout.layout === 'senet' && architecture?.block === 'bottleneck';
  if (strided && options.definition && options.definition !== architecture!.definition)
    throw new ModelFormatError(
      `${where}: a legacy SENet file (layer0.conv1): its bottlenecks stride as definition ` +
        `'${architecture!.definition}' does, not as the '${options.definition}' asked for`,
    );
  const depth = depthOf(v2 ?? architecture!);
  if (declaredDepth !== undefined && declaredDepth !== depth)
    throw new ModelFormatError(
      `${where}: __metadata__ says ResNet-${declaredDepth}, the tensors are a ResNet-${depth}`,
    );
  if (options.depth !== undefined && options.depth !== depth) {
    throw new ModelFormatError(
      `${where}: these weights are a ResNet-${depth}, not the ResNet-${options.depth} asked for`,
    );
  }
  const used = new Set<string>();
  const get = (name: string, shape: number[]) => {
    used.add(layout.toFile(name));
    return file.get(layout.toFile(name), shape);
  };
  const layers = {
    classes,
    // PyTorch's BatchNorm eps, which a legacy SENet file's stride on conv1 (definition 'keras-v1') does not change
    epsilon: options.epsilon ?? (layout.layout === 'senet' ? 1e-5 : undefined),
    folded: isFolded(shapes),
    quantized: (name: string) => file.quantized(layout.toFile(name)),
    shapeOf: (name: string) => shapes.get(name),
    where,
  };
  const graph = v2
    ? buildResNetV2(get, { ...layers, architecture: v2 })
    : buildResNet(get, { ...layers, architecture: architecture! });
  const scaleOfUsed = (k: string) => k.endsWith('_scale') && used.has(k.slice(0, -'_scale'.length));
  const extra = [...file.entries.keys()].filter(
    (k) => !used.has(k) && !scaleOfUsed(k) && !k.endsWith('num_batches_tracked'),
  );
  if (extra.length)
    throw new ModelFormatError(
      `${where}: tensors no ${graph.name} layer uses: ${extra.slice(0, 5).join(', ')}` +
        (extra.length > 5 ? ', ...' : ''),
    );
  return Object.keys(settings).length ? { ...graph, declared: settings } : graph;
}

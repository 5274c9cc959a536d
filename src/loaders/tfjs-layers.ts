/**
 * TF.js layers format (model.json + binary shards) -> graph IR.
 * Supports the layers a Keras ResNet uses: InputLayer, ZeroPadding2D, Conv2D, BatchNormalization,
 * Activation / ReLU, MaxPooling2D, Add, GlobalAveragePooling2D, Dense (+ softmax). Anything else, or
 * an option of these layers the engine does not implement, is an error naming the layer. Weights are
 * float32 or quantized by tensorflowjs_converter (src/loaders/tfjs-weights.ts).
 */
import { GraphError, ModelFormatError } from '../errors.js';
import { type Graph, GraphBuilder } from '../graph/graph.js';
import { KERAS_LAYERS, type KerasJson, KerasLayerContext } from './keras-layers.js';
import { checkRelativePath, type FileSource } from './source.js';
import { finiteTensor } from './finite.js';
import { decodeWeight, weightBytes, type WeightSpec } from './tfjs-weights.js';

export interface LoadProgress {
  /** Bytes of model files read so far, and the total expected (known once model.json is parsed). */
  loadedBytes: number;
  totalBytes: number;
  /**
   * 'download' while the pretrained model is fetched into the per-user cache (Node, no `source`, first
   * use); 'read' (or absent) while weight files are read.
   */
  stage?: 'download' | 'read';
}

interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}
interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, KerasJson>;
  inbound_nodes?: unknown;
}

/** Parses model.json, reads and checks every shard, and builds the (unoptimized) graph. */
export async function loadTfjsLayersModel(
  source: FileSource,
  modelPath = 'model.json',
  onProgress?: (p: LoadProgress) => void,
): Promise<Graph> {
  const where = source.describe(modelPath);
  const text = new TextDecoder().decode(await source.read(modelPath));
  let json: KerasJson;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(`${where}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof json !== 'object' || json === null) throw new ModelFormatError(`${where}: expected a JSON object`);
  const topology = json.modelTopology;
  const config = topology?.model_config ?? topology;
  if (!config || typeof config !== 'object')
    throw new ModelFormatError(`${where}: no modelTopology (is this a TF.js layers model.json?)`);
  if (config.class_name !== 'Model' && config.class_name !== 'Functional') {
    throw new ModelFormatError(
      `${where}: model class ${JSON.stringify(config.class_name)} is not supported (expected a functional Keras Model)`,
    );
  }
  const layers: KerasLayer[] = config.config?.layers;
  if (!Array.isArray(layers) || layers.length === 0)
    throw new ModelFormatError(`${where}: modelTopology has no layers`);
  const groups: WeightGroup[] = json.weightsManifest;
  if (!Array.isArray(groups)) throw new ModelFormatError(`${where}: no weightsManifest`);

  const weights = await readWeights(source, where, groups, onProgress);
  try {
    return buildGraph(config.config, layers, weights);
  } catch (err) {
    if (err instanceof GraphError) throw new ModelFormatError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Which shard of a weight group whose bytes do not add up is wrong, in one short line. TF.js cuts a group
 * into shards of one size and a smaller last one, so the odd one out is the shard to name.
 */
function wrongShard(source: FileSource, paths: string[], sizes: number[], expected: number, g: number): string {
  const n = sizes.length;
  const counts = new Map<number, number>();
  for (const s of sizes.slice(0, -1)) counts.set(s, (counts.get(s) ?? 0) + 1);
  const shardSize = n === 1 ? expected : [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const odd = sizes.findIndex((s, i) => i < n - 1 && s !== shardSize);
  const i = odd >= 0 ? odd : n - 1;
  const want = odd >= 0 ? shardSize : expected - (n - 1) * shardSize;
  const whole =
    `weight group ${g + 1} is ${sizes.reduce((a, b) => a + b, 0)} bytes in ${n} ` +
    `shard${n > 1 ? 's' : ''}, its manifest describes ${expected}`;
  if (!(want > 0)) return `${source.describe(paths[0]!)}: ${whole}; the shards are from another model`;
  return (
    `${source.describe(paths[i]!)} is ${sizes[i]} bytes, expected ${want} ` +
    `(${sizes[i]! < want ? 'truncated' : 'too long'}; ${whole}); copy or download the model files again`
  );
}

async function readWeights(
  source: FileSource,
  where: string,
  groups: WeightGroup[],
  onProgress?: (p: LoadProgress) => void,
): Promise<Map<string, Float32Array>> {
  // Expected bytes per group, from the manifest.
  const expected = groups.map((group, g) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights))
      throw new ModelFormatError(`${where}: weightsManifest[${g}] needs "paths" and "weights" arrays`);
    let bytes = 0;
    for (const w of group.weights) bytes += weightBytes(w, where);
    for (const p of group.paths) checkRelativePath(p, where);
    return bytes;
  });
  const totalBytes = expected.reduce((a, b) => a + b, 0);
  let loadedBytes = 0;
  onProgress?.({ loadedBytes, totalBytes });

  const out = new Map<string, Float32Array>();
  await Promise.all(
    groups.map(async (group, g) => {
      const shards = await Promise.all(
        group.paths.map((p) =>
          source.read(p, (delta) => {
            loadedBytes += delta;
            onProgress?.({ loadedBytes, totalBytes });
          }),
        ),
      );
      const size = shards.reduce((a, s) => a + s.length, 0);
      if (size !== expected[g])
        throw new ModelFormatError(
          wrongShard(
            source,
            group.paths,
            shards.map((s) => s.length),
            expected[g]!,
            g,
          ),
        );
      const data = new Uint8Array(size);
      let at = 0;
      for (const s of shards) {
        data.set(s, at);
        at += s.length;
      }
      let offset = 0;
      for (const w of group.weights) {
        const bytes = weightBytes(w, where);
        if (out.has(w.name)) throw new ModelFormatError(`${where}: weight ${w.name} appears twice in the manifest`);
        out.set(w.name, finiteTensor(decodeWeight(w, data.subarray(offset, offset + bytes), where), where, w.name));
        offset += bytes;
      }
    }),
  );
  return out;
}

function buildGraph(modelConfig: KerasJson, layers: KerasLayer[], weights: Map<string, Float32Array>): Graph {
  const inputs = modelConfig.input_layers;
  const outputs = modelConfig.output_layers;
  if (!Array.isArray(inputs) || inputs.length !== 1 || !Array.isArray(outputs) || outputs.length !== 1) {
    throw new GraphError(
      `the model must have exactly one input and one output layer (found ${JSON.stringify(inputs)} -> ` +
        `${JSON.stringify(outputs)})`,
    );
  }
  const used = new Set<string>();
  const take = (layer: string, param: string, shape: number[]): Float32Array => {
    const name = `${layer}/${param}`;
    const w = weights.get(name);
    if (!w) throw new GraphError(`layer ${layer}: tensor ${name} is not in the weights manifest`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.length !== n)
      throw new GraphError(`layer ${layer}: tensor ${name} holds ${w.length} values, expected shape [${shape}] (${n})`);
    used.add(name);
    return w;
  };
  let builder: GraphBuilder | undefined;
  const tensorOf = new Map<string, string>();
  for (const [i, layer] of layers.entries()) {
    const name: string = layer.config?.name ?? layer.name;
    const cls = layer.class_name;
    const cfg = layer.config ?? {};
    if (typeof name !== 'string') throw new GraphError(`layers[${i}] has no name`);
    const ctx = `layer ${name} (${cls})`;
    if (cls === 'InputLayer') {
      builder = inputLayer(ctx, modelConfig.name ?? 'model', name, cfg);
      tensorOf.set(name, name);
      continue;
    }
    if (!builder) throw new GraphError(`${ctx} comes before the InputLayer`);
    const inbound = parseInbound(layer, ctx).map((src) => {
      const t = tensorOf.get(src);
      if (!t) throw new GraphError(`${ctx}: input ${src} is not defined before it`);
      return t;
    });
    if (cfg.data_format && cfg.data_format !== 'channels_last')
      throw new GraphError(`${ctx}: data_format ${cfg.data_format} is not supported (channels_last only)`);
    const handler = Object.hasOwn(KERAS_LAYERS, cls) ? KERAS_LAYERS[cls]! : undefined;
    if (!handler) throw new GraphError(`${ctx}: layer class ${cls} is not supported`);
    tensorOf.set(name, handler(new KerasLayerContext(builder, name, cls, cfg, inbound, take)));
  }
  if (!builder) throw new GraphError('no InputLayer');
  const outName = outputs[0]?.[0];
  const output = tensorOf.get(outName);
  if (!output) throw new GraphError(`output layer ${outName} is not defined`);
  const unused = [...weights.keys()].filter((k) => !used.has(k));
  if (unused.length)
    throw new GraphError(
      `the manifest holds tensors no layer uses: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', ...' : ''}`,
    );
  return builder.finish(output);
}

/** The graph builder an InputLayer starts: its input shape must be [batch, H, W, C] with fixed sizes. */
function inputLayer(ctx: string, model: string, name: string, cfg: Record<string, KerasJson>): GraphBuilder {
  const shape = cfg.batch_input_shape ?? cfg.batch_shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d: unknown) => Number.isInteger(d))) {
    throw new GraphError(
      `${ctx}: input shape ${JSON.stringify(shape)} must be [batch, height, width, channels] with fixed sizes`,
    );
  }
  return new GraphBuilder(model, name, [shape[1], shape[2], shape[3]]);
}

function parseInbound(layer: KerasLayer, ctx: string): string[] {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length !== 1 || !Array.isArray(nodes[0])) {
    throw new GraphError(
      `${ctx}: inbound_nodes ${JSON.stringify(nodes)?.slice(0, 80)} not understood (a layer must be called exactly ` +
        `once, Keras 2 format)`,
    );
  }
  return (nodes[0] as unknown[]).map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string')
      throw new GraphError(`${ctx}: inbound entry ${JSON.stringify(entry)} not understood`);
    if ((entry[1] ?? 0) !== 0 || (entry[2] ?? 0) !== 0)
      throw new GraphError(`${ctx}: shared layers are not supported (${entry[0]} node ${entry[1]})`);
    return entry[0];
  });
}

/**
 * `webgpu-resnet convert [<weights>] --precision f32|f16|int8 --out <file.safetensors>`: any weights the
 * engine loads (default: the pretrained ResNet-50) -> a compact safetensors file (src/export/compact.ts)
 * that `--weights` / `source` load with no other option.
 */
import { readFile } from 'node:fs/promises';
import { compactOf } from '../api/compact.js';
import { readHead } from '../api/options.js';
import { writeWhole } from '../node/cache-integrity.js';
import { sourceOptions } from '../loaders/formats.js';
import { loadGraph, PRETRAINED } from '../node.js';
import { isWeightStorage, WEIGHT_STORAGES, type WeightStorage } from '../kernels/weight-storage.js';
import { loadOptions, UsageError, type Parsed } from './args.js';

export async function convert(args: Parsed): Promise<number> {
  const precision = args.flags.get('--precision');
  const out = args.flags.get('--out');
  if (!isWeightStorage(precision)) throw new UsageError(`convert needs --precision ${WEIGHT_STORAGES.join('|')}`);
  if (typeof out !== 'string' || !/\.safetensors$/i.test(out))
    throw new UsageError('convert needs --out <file.safetensors>');
  if (args.positional.length > 1) throw new UsageError('convert takes one weights file');
  if (args.positional[0] && args.flags.has('--weights'))
    throw new UsageError('give the weights once: convert <weights> or --weights <weights>');
  const options = loadOptions(args);
  const source = args.positional[0] ?? options.source;
  const loaded = await loadGraph({ ...sourceOptions(options), source });
  const sourceName = typeof source === 'string' ? source : `${PRETRAINED.spec} (ResNet50/model.json)`;
  const head =
    options.head === undefined
      ? undefined
      : await readHead(options.head, async (path) => new Uint8Array(await readFile(path)));
  const { bytes, graph } = compactOf(loaded, precision as WeightStorage, options, sourceName, head);
  await writeWhole(out, bytes);
  const floatBytes = graph.nodes.reduce(
    (n, node) => n + ('weights' in node ? 4 * (node.weights.length + node.bias.length) : 0),
    0,
  );
  if (args.flags.has('--json')) {
    console.log(JSON.stringify({ out, bytes: bytes.length, precision, format: loaded.format, floatBytes }));
  } else {
    console.log(
      `${out}: ${graph.name}, ${precision} weights, ${(bytes.length / 1e6).toFixed(1)} MB (the weights as f32: ` +
        `${(floatBytes / 1e6).toFixed(1)} MB)`,
    );
  }
  return 0;
}

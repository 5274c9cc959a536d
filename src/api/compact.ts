/** `webgpu-resnet convert`: loaded weights -> a compact safetensors file (src/export/compact.ts), as a model would be
 * built. */
import { compactSafetensors } from '../export/compact.js';
import type { Graph } from '../graph/graph.js';
import { graphWithHead, type Head } from '../graph/head.js';
import { optimize } from '../graph/passes.js';
import type { WeightStorage } from '../kernels/weight-storage.js';
import type { LoadedGraph } from '../loaders/formats.js';
import type { LoadOptionsBase } from './options.js';
import { modelSettings } from './settings.js';

/**
 * The compact file of loaded weights, in `precision`: the graph optimized, preprocessing and labels as
 * `options` and the weights settle them (what `webgpu-resnet convert` writes). Also returns the optimized
 * graph (for the sizes convert prints).
 */
export function compactOf(
  given: LoadedGraph,
  precision: WeightStorage,
  options: LoadOptionsBase,
  source: string,
  head?: Head,
): { bytes: Uint8Array; graph: Graph } {
  // with a head (a trained one), the file holds it in place of the weights' classifier, and its labels
  const loaded = head ? { ...given, graph: graphWithHead(given.graph, head) } : given;
  const settings = modelSettings(loaded, { ...options, precision: undefined, labels: head?.labels ?? options.labels });
  const { graph } = optimize(loaded.graph);
  const classes = graph.shapes.get(graph.output)![2];
  const labels = settings.labels ?? Array.from({ length: classes }, (_, i) => `class ${i}`);
  return {
    bytes: compactSafetensors(graph, {
      precision,
      preprocessing: settings.preprocessing,
      labels,
      source,
      inputSize: settings.inputSize,
    }),
    graph,
  };
}

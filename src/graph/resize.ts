/**
 * The same network for another input size. A ResNet is convolutional up to its global average pool, so
 * its graph runs at any size large enough for the last stage to keep one pixel: the graph is replayed
 * through GraphBuilder with the new input shape, which infers and checks every tensor's shape again (each
 * node's operator does: nothing here knows a node's fields). Paddings stay as loaded (explicit zero padding, and
 * 'same' convs
 * that are size-agnostic: stride 1, or 1x1 kernels), as in every ResNet this engine loads.
 */
import { InputError } from '../errors.js';
import { type Graph, GraphBuilder } from './graph.js';

/**
 * `graph` with input [height, width]: every node added again, its operator inferring and checking its
 * shape at the new size (a GraphError when a tensor would be empty).
 */
function replay(graph: Graph, height: number, width: number): Graph {
  const channels = graph.shapes.get(graph.input)![2];
  const b = new GraphBuilder(graph.name, graph.input, [height, width, channels]);
  for (const node of graph.nodes) b.add(node);
  const out = b.finish(graph.output);
  return graph.declared ? { ...out, declared: graph.declared } : out;
}

const fits = (graph: Graph, h: number, w: number) => {
  try {
    replay(graph, h, w);
    return true;
  } catch {
    return false;
  }
};

/** The smallest square input the network runs at. */
export function smallestInput(graph: Graph): number {
  let lo = 1,
    hi = Math.max(...graph.shapes.get(graph.input)!.slice(0, 2));
  while (!fits(graph, hi, hi)) hi *= 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fits(graph, mid, mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** `graph` at input size [height, width]; an InputError naming the smallest size when it is too small. */
export function resizeGraph(graph: Graph, [height, width]: [number, number]): Graph {
  if (![height, width].every((d) => Number.isInteger(d) && d > 0 && d <= 16384))
    throw new InputError(`inputSize must be whole numbers of pixels from 1 to 16384, got ${height}x${width}`);
  const [h0, w0] = graph.shapes.get(graph.input)!;
  if (h0 === height && w0 === width) return graph;
  if (!fits(graph, height, width)) {
    const min = smallestInput(graph);
    throw new InputError(
      `inputSize ${height}x${width} is too small for ${graph.name}: its last stage would have no pixel left; the ` +
        `smallest input is ${min}x${min}`,
    );
  }
  return replay(graph, height, width);
}

/**
 * The deterministic parameter generator of ../shared/golden/README.md (torchvision ResNets with generated
 * weights), the golden input and the logit comparison: the golden tests, `npm run golden-check`, the
 * bench's synthetic torchvision models and `npm run golden-weights` rebuild the parameters from it.
 */
import { buildResNet, RESNET_SPECS, standardArchitecture } from '../src/arch/resnet.js';
import type { Graph } from '../src/graph/graph.js';

const mix = (v: number): number => {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
};

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
};

/** u(name, i) in [-1, 1), exact in float32. */
export function u(name: string, i: number): number {
  return (mix((fnv1a(name) ^ mix(i)) >>> 0) >>> 8) / 2 ** 23 - 1;
}

const p2 = (v: number) => 2 ** Math.round(Math.log2(v));

/** One generated parameter, per the README's table (computed in float64, rounded once to float32). */
export function generate(name: string, shape: number[], lastBn: boolean): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const h = fnv1a(name);
  const val = (f: (u: number) => number) => {
    for (let i = 0; i < n; i++) out[i] = f((mix((h ^ mix(i)) >>> 0) >>> 8) / 2 ** 23 - 1);
  };
  if (shape.length === 4) {
    const s = p2(Math.sqrt(6 / (shape[1]! * shape[2]! * shape[3]!)));
    val((x) => x * s);
  } else if (name === 'fc.weight' || name === 'last_linear.weight') {
    const s = p2(Math.sqrt(3 / shape[1]!));
    val((x) => x * s);
  } else if (name === 'fc.bias' || name === 'last_linear.bias') val((x) => x * 2 ** -7);
  else if (name.endsWith('.running_mean')) val((x) => x / 8);
  else if (name.endsWith('.running_var')) val((x) => 1 + (x + 1) / 2);
  else if (name.endsWith('.weight')) val((x) => (1 + x / 4) * (lastBn ? 1 / 8 : 1));
  else if (name.endsWith('.bias')) val((x) => x / 8);
  else throw new Error(`no generator rule for ${name}`);
  return out;
}

/**
 * Every torchvision state_dict tensor of ResNet-`depth`, generated, in the order the builder reads them,
 * and the raw (unfused) graph the builder made from them.
 */
export function goldenModel(depth: number): {
  params: Array<{ name: string; shape: number[]; data: Float32Array }>;
  graph: Graph;
} {
  const last = RESNET_SPECS[depth]!.block === 'bottleneck' ? '.bn3.' : '.bn2.';
  const params: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  const graph = buildResNet(
    (name, shape) => {
      const data = generate(name, shape, name.includes(last));
      params.push({ name, shape, data });
      return data;
    },
    { architecture: standardArchitecture(depth) },
  );
  return { params, graph };
}

/** The golden input: u("input", i) over [2, 3, size, size], NCHW. */
export function goldenInput(size = 224): Float32Array {
  const out = new Float32Array(2 * 3 * size * size);
  for (let i = 0; i < out.length; i++) out[i] = u('input', i);
  return out;
}

/** max |logit difference| / max |golden logit| over a batch of logits [n][classes], and each image's top-5. */
export function compareLogits(logits: Float32Array, want: { logits: number[][] }): { error: number; top5: number[][] } {
  let diff = 0,
    scale = 0;
  const n = want.logits.length;
  const classes = want.logits[0]!.length;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < classes; i++) {
      diff = Math.max(diff, Math.abs(logits[b * classes + i]! - want.logits[b]![i]!));
      scale = Math.max(scale, Math.abs(want.logits[b]![i]!));
    }
  const top5 = Array.from({ length: n }, (_, b) =>
    [...logits.subarray(b * classes, (b + 1) * classes).keys()]
      .sort((x, y) => logits[b * classes + y]! - logits[b * classes + x]!)
      .slice(0, 5),
  );
  return { error: diff / scale, top5 };
}

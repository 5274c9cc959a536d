/**
 * Compact weights: safetensors files written by `convert` (src/export/compact.ts) in f32, f16 and int8,
 * loaded back with no option, on torchvision ResNet-18 and -50 with the golden generator's weights. The
 * reference is onnxruntime running the same network with its weights rounded here, from the definitions
 * (halves; int8 symmetric per output channel), not by the engine's code.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compactSafetensors } from '../src/export/compact.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import type { Graph } from '../src/graph/graph.js';
import { type GraphNode, maxPool, pad } from '../src/operators/index.js';
import { GraphBuilder } from '../src/graph/graph.js';
import { optimize } from '../src/graph/passes.js';
import {
  IMAGENET_LABELS,
  ModelFormatError,
  ResNetError,
  TORCH_PREPROCESSING,
  CAFFE_PREPROCESSING,
} from '../src/index.js';
import { loadSafetensorsResNet } from '../src/loaders/safetensors.js';
import { loadResNet } from '../src/node.js';
import { roundToHalf } from '../src/util/half.js';
import { goldenInput, goldenModel } from '../scripts/golden-model.js';
import { relativeError, roundToInt8Columns } from './helpers/reference.js';
import { ortRun } from './helpers/onnx.js';

const input = goldenInput(); // [2, 3, 224, 224]
const report: string[] = [];
afterAll(() => {
  if (report.length)
    console.log(
      `\n| network | precision | file bytes | GPU weight bytes | max rel. logit error vs onnxruntime (rounded weights) | top-1 (2 inputs) |\n| --- | --- | --- | --- | --- | --- |\n${report.join('\n')}`,
    );
});

/** The optimized graph with every conv and dense weight rounded as `precision` stores it (int8 data dropped). */
function rounded(graph: Graph, precision: 'f32' | 'f16' | 'int8'): Graph {
  const nodes = graph.nodes.map((n): GraphNode => {
    if (n.op !== 'conv2d' && n.op !== 'dense') return n;
    const weights =
      precision === 'f16'
        ? n.weights.map(roundToHalf)
        : precision === 'int8'
          ? roundToInt8Columns(n.weights, n.bias.length)
          : n.weights;
    return { ...n, weights, quantized: undefined };
  });
  return { ...graph, nodes };
}

const ortLogits = (graph: Graph) => ortRun(graph, input, { batch: 2 });

const top1 = (logits: Float32Array) =>
  [0, 1].map((b) => {
    const row = logits.subarray(b * 1000, (b + 1) * 1000);
    return row.indexOf(Math.max(...row));
  });

describe('compact safetensors files (convert)', () => {
  for (const depth of [18, 50]) {
    it(`ResNet-${depth}: f32, f16 and int8 files load with no option and match onnxruntime on the same rounded weights; int8 quantized at load gives the file's logits`, async () => {
      const original = writeSafetensors(goldenModel(depth).params);
      const { graph } = optimize(loadSafetensorsResNet(original, 'golden'));
      const sizes: Record<string, number> = {};
      for (const precision of ['f32', 'f16', 'int8'] as const) {
        const bytes = compactSafetensors(graph, {
          precision,
          preprocessing: TORCH_PREPROCESSING,
          labels: IMAGENET_LABELS,
        });
        sizes[precision] = bytes.length;
        const model = await loadResNet({ source: { safetensors: bytes } });
        try {
          expect(model.info.precision).toBe(precision);
          const got = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' });
          const want = await ortLogits(rounded(graph, precision));
          const error = relativeError(got, want);
          report.push(
            `| ResNet-${depth} | ${precision} | ${bytes.length} | ${model.info.weightBytes} | ${error.toExponential(2)} | ${top1(got).join(', ')} (onnxruntime ${top1(want).join(', ')}) |`,
          );
          expect(error, `${precision}`).toBeLessThan(1e-4);
          expect(top1(got)).toEqual(top1(want));
          if (precision === 'int8') {
            const atLoad = await loadResNet({ source: { safetensors: original }, precision: 'int8' });
            expect(
              relativeError(await atLoad.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), got),
            ).toBeLessThan(1e-6);
            atLoad.dispose();
          }
        } finally {
          model.dispose();
        }
      }
      // int8: one byte per weight (+ f32 biases and scales), f16: two
      expect(sizes.int8! / sizes.f32!).toBeLessThan(0.27);
      expect(sizes.f16! / sizes.f32!).toBeLessThan(0.51);
    });
  }

  it('the metadata sets preprocessing, labels and precision; options still override them', async () => {
    const { graph } = optimize(goldenModel(18).graph);
    const labels = IMAGENET_LABELS.map((l, i) => `${l} #${i}`);
    const bytes = compactSafetensors(graph, { precision: 'f16', preprocessing: CAFFE_PREPROCESSING, labels });
    const model = await loadResNet({ source: { safetensors: bytes } });
    expect(model.info.precision).toBe('f16');
    const [top] = await model.classify(
      new Uint8Array(await (await import('node:fs/promises')).readFile('demo/samples/340_n02391049_zebra.JPEG')),
    );
    expect(top!.label).toBe(labels[top!.index]);
    model.dispose();
    const overridden = await loadResNet({ source: { safetensors: bytes }, precision: 'f32', labels: IMAGENET_LABELS });
    expect(overridden.info.precision).toBe('f32');
    overridden.dispose();
  });

  it('bad metadata or int8 tensors without scales are ModelFormatErrors naming the key or tensor', async () => {
    const { params } = goldenModel(18);
    const cases: Array<[Record<string, string>, string]> = [
      [{ precision: 'int4' }, '__metadata__ precision "int4" is not f32, f16 or int8'],
      [{ labels: '["a","b"]' }, '__metadata__ labels must be a JSON array of 1000 strings'],
      [{ labels: '[not json' }, '__metadata__ labels is not valid JSON'],
      [{ preprocessing: '{"order":"RGB"}' }, 'is not caffe, torch or a JSON object with resizeTo'],
      [{ depth: '50' }, '__metadata__ says ResNet-50, the tensors are a ResNet-18'],
    ];
    for (const [metadata, message] of cases) {
      const err = await loadResNet({ source: { safetensors: writeSafetensors(params, metadata) } }).catch(
        (e: unknown) => e,
      );
      expect(err, message).toBeInstanceOf(ModelFormatError);
      expect((err as Error).message).toContain(message);
    }
    const noScale = params.map((p) =>
      p.name === 'fc.weight' ? { ...p, data: Int8Array.from(p.data, (v) => Math.round(v * 100)) } : p,
    );
    const err = await loadResNet({ source: { safetensors: writeSafetensors(noScale) } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResNetError);
    expect((err as Error).message).toContain('tensor fc.weight_scale is missing');
  });
});

describe('max pools a compact file could not rebuild', () => {
  it("a stem max pool other than ResNet's or legacy SENet's is refused by convert, not rebuilt wrongly", () => {
    // PyTorch's MaxPool2d(3, 2, padding=1, ceil_mode=True): 57 x 57 after a 224 stem, where the rebuilt would give 56
    const { graph } = optimize(goldenModel(18).graph);
    const nodes = graph.nodes.map((n) => (n.op === 'maxpool' ? { ...n, ceilMode: true } : n));
    const replay = new GraphBuilder(graph.name, graph.input, [224, 224, 3]);
    for (const node of nodes) replay.add(node);
    const odd = replay.finish(graph.output);
    expect(odd.shapes.get('maxpool')).toEqual([57, 57, 64]);
    const options = { precision: 'f32' as const, preprocessing: TORCH_PREPROCESSING, labels: IMAGENET_LABELS };
    const write = () => compactSafetensors(odd, options);
    expect(write).toThrow(ModelFormatError);
    expect(write).toThrow(
      /stem max pool maxpool \(3x3\/2, pads \[1,1,1,1\], ceil mode\) is neither ResNet's .* nor legacy SENet's/,
    );
  });

  it('an explicit zero Pad before a ceil-mode max pool stays its own node (its windows past the end read nothing)', () => {
    const b = new GraphBuilder('t', 'x', [9, 9, 4]);
    const padded = b.add(pad('pad', 'x', [1, 1, 0, 0]));
    const raw = b.finish(b.add(maxPool('pool', padded, { size: [3, 3], strides: [2, 2], ceilMode: true })));
    const { graph } = optimize(raw);
    expect(graph.nodes.map((n) => n.op)).toEqual(['pad', 'maxpool']);
    expect(graph.nodes[1]).toMatchObject({ padValue: 'ignore', pads: [0, 0, 0, 0], ceilMode: true });
    // without ceil mode the padding is folded into the pool, as before
    const b2 = new GraphBuilder('t', 'x', [9, 9, 4]);
    const floor = b2.finish(
      b2.add(maxPool('pool', b2.add(pad('pad', 'x', [1, 1, 0, 0])), { size: [3, 3], strides: [2, 2] })),
    );
    expect(optimize(floor).graph.nodes).toMatchObject([{ op: 'maxpool', padValue: 'zero', pads: [1, 1, 0, 0] }]);
  });
});

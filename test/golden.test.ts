/**
 * Every depth against torchvision's own float64 logits (../shared/golden): parameters rebuilt with the
 * README's generator, written as a real .safetensors file, loaded through the public loader, run on the
 * golden input. Max |logit difference| / max |golden logit| must be <= 1e-4.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { loadResNet } from '../src/node.js';
import { compareLogits, goldenInput, goldenModel, u } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { graphToOnnx, type OnnxExportOptions } from '../src/export/onnx.js';
import { appendNode } from './helpers/onnx.js';
import { sharedPath } from './helpers/needs.js';

/** The torchvision network as torch.onnx writes it: NCHW input, logits out. */
const writeOnnx = (graph: Parameters<typeof graphToOnnx>[0], options: OnnxExportOptions = {}) =>
  graphToOnnx(graph, { softmax: false, producer: 'webgpu-resnet tests', ...options });

interface Golden {
  models: Record<string, { logits: number[][]; top5: number[][]; params: number }>;
}
let golden: Golden;
let work: string;
const results: string[] = [];

beforeAll(async () => {
  golden = JSON.parse(await readFile(sharedPath('golden', 'torchvision-resnet-golden.json'), 'utf8'));
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-golden-'));
});
afterAll(async () => {
  if (results.length)
    console.log(
      `\n| depth | format | engine: max rel. logit error | onnxruntime: max rel. logit error | GPU bytes at batch 1 | batch 8 |\n| --- | --- | --- | --- | --- | --- |\n${results.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join('\n')}`,
    );
  await rm(work, { recursive: true, force: true });
});

describe('the generator', () => {
  it('reproduces the README check values', () => {
    expect(u('conv1.weight', 0)).toBe(-0.5070569515228271);
    expect(u('conv1.weight', 1)).toBe(0.6965248584747314);
    expect(u('input', 0)).toBe(0.28604722023010254);
  });
});

describe('torchvision ResNets from safetensors and ONNX', () => {
  for (const depth of [18, 34, 50, 101, 152]) {
    it(`resnet${depth} matches torchvision's logits (safetensors and ONNX; onnxruntime runs the same ONNX file)`, async () => {
      const { params, graph } = goldenModel(depth);
      const want = golden.models[`resnet${depth}`]!;
      expect(params.reduce((a, p) => a + p.data.length, 0)).toBe(want.params);
      const input = goldenInput();
      const files = { safetensors: join(work, `resnet${depth}.safetensors`), onnx: join(work, `resnet${depth}.onnx`) };
      await writeFile(files.safetensors, writeSafetensors(params, { format: 'pt' }));
      const onnxBytes = writeOnnx(graph);
      await writeFile(files.onnx, onnxBytes);
      // onnxruntime (CPU) on the ONNX file: proves the file is the torchvision network
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(onnxBytes);
      const ortOut = await session.run({ input: new ort.Tensor('float32', input, [2, 3, 224, 224]) });
      const ortCheck = compareLogits(ortOut[session.outputNames[0]!]!.data as Float32Array, want);
      await session.release();
      expect(ortCheck.error).toBeLessThanOrEqual(1e-4);
      // each file with the engine's choices (Winograd for the 3x3 stride-1 convs with f32 weights: F(4x4,3x3)
      // on layer1-2's images, F(2x2,3x3) on the smaller), and the safetensors file again with every such conv
      // F(2x2,3x3), F(4x4,3x3), then direct: each variant's error beside the direct one
      const variants = [
        ['safetensors', true],
        ['onnx', true],
        ['safetensors', 2],
        ['safetensors', 4],
        ['safetensors', false],
      ] as const;
      for (const [format, winograd] of variants) {
        const model = await loadResNet({ source: files[format], winograd });
        try {
          const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
          const variant =
            winograd === false
              ? ', direct 3x3'
              : winograd === true
                ? ''
                : `, F(${winograd}x${winograd},3x3) in every 3x3/1`;
          results.push(
            `| resnet${depth} | ${format}${variant} | ${check.error.toExponential(2)} | ${format === 'onnx' ? ortCheck.error.toExponential(2) : ''} | ${(model.info.weightBytes + model.arenaBytes(1)).toLocaleString('en-US')} | ${(model.info.weightBytes + model.arenaBytes(8)).toLocaleString('en-US')} |`,
          );
          expect(check.error, format).toBeLessThanOrEqual(1e-4);
          expect(check.top5, format).toEqual(want.top5);
        } finally {
          model.dispose();
        }
      }
    });
  }

  it('clear errors: lying header, missing tensor, wrong shape, depth mismatch, unsupported ONNX op', async () => {
    const { params, graph } = goldenModel(18);
    const good = writeSafetensors(params);
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(0, good.length, true);
    await expect(loadResNet({ source: { safetensors: lying } })).rejects.toThrow(
      /header length \d+ runs past the end of the file/,
    );
    const missing = writeSafetensors(params.filter((p) => p.name !== 'layer2.1.bn1.running_var'));
    await expect(loadResNet({ source: { safetensors: missing } })).rejects.toThrow(
      /tensor layer2\.1\.bn1\.running_var is missing \(expected shape \[128\]\)/,
    );
    const wrong = writeSafetensors(
      params.map((p) => (p.name === 'layer3.0.conv2.weight' ? { ...p, shape: [256, 128, 3, 6] } : p)),
    );
    await expect(loadResNet({ source: { safetensors: wrong } })).rejects.toThrow(
      /tensor layer3\.0\.conv2\.weight has shape \[256,128,3,6\], expected \[256,256,3,3\]/,
    );
    await expect(loadResNet({ source: { safetensors: good }, depth: 50 })).rejects.toThrow(ModelFormatError);
    await expect(loadResNet({ source: { safetensors: good }, depth: 50 })).rejects.toThrow(
      /a ResNet-18, not the ResNet-50 asked for/,
    );
    const tanh = appendNode(writeOnnx(graph), 'Tanh');
    await expect(loadResNet({ source: { onnx: tanh } })).rejects.toThrow(
      /node extra \(Tanh\): operator Tanh is not supported/,
    );
    // Sigmoid is read only as the end of a squeeze-and-excitation gate
    const sigmoid = appendNode(writeOnnx(graph), 'Sigmoid');
    await expect(loadResNet({ source: { onnx: sigmoid } })).rejects.toThrow(
      /node extra \(Sigmoid\): Sigmoid is supported only as a squeeze-and-excitation gate/,
    );
    await expect(loadResNet({ source: { onnx: writeOnnx(graph, { opset: 9 }) } })).rejects.toThrow(
      /opset 9; opset 11 or newer is supported/,
    );
    await expect(loadResNet({ source: { onnx: new Uint8Array([1, 2, 3, 4, 5]) } })).rejects.toThrow(
      /not an ONNX model|no graph/,
    );
    await expect(loadResNet({ source: { onnx: writeOnnx(graph) }, depth: 34 })).rejects.toThrow(
      /these weights are a ResNet-18 \(18 weight layers deep\), not the ResNet-34 asked for/,
    );
  });
});

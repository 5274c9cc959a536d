/**
 * ResNet-family networks against the libraries that define them. timm and torchvision build each network
 * (scripts/family-torch.py), fill its state_dict with the golden generator (../shared/golden/README.md) and
 * compute float64 logits on an 80x80 input (test/fixtures/family-golden.json). Here the same state_dict is
 * rebuilt from the names and shapes recorded there, written as a .safetensors file, loaded through the public
 * loader and run with both kernel families; the network the loader read is written as ONNX by the engine's
 * writer, run by onnxruntime (which proves the file is that network) and by the engine. Max |logit difference|
 * / max |reference logit| must be <= 1e-4 and the top-5 the same. Members the engine does not run yet are
 * refused while the file is read, with the module named.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLogits, generate, goldenInput } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { graphToOnnx } from '../src/export/onnx.js';
import { resizeGraph } from '../src/graph/resize.js';
import { loadSafetensorsResNet } from '../src/loaders/safetensors.js';
import { loadResNet } from '../src/node.js';

interface FamilyModel {
  built: string;
  block: 'basic' | 'bottleneck';
  params: Array<[string, number[]]>;
  logits: number[][];
  top5: number[][];
  /** Logits with residual blocks deleted (y = relu(shortcut(x))), by the blocks' names joined with commas. */
  lesions?: Record<string, number[][]>;
}
const fixture: {
  input: number[];
  models: Record<string, FamilyModel>;
  /** Members the engine refuses: their state_dict names and shapes. */
  refused: Record<string, Array<[string, number[]]>>;
} = JSON.parse(await readFile(new URL('./fixtures/family-golden.json', import.meta.url), 'utf8'));
const size = fixture.input[2]!;
const input = goldenInput(size);

/** The state_dict timm or torchvision had, rebuilt: same names, shapes and generated values. */
function stateDict(model: FamilyModel): Uint8Array {
  const last = model.block === 'bottleneck' ? '.bn3.' : '.bn2.';
  const tensors = model.params.map(([name, shape]) => ({
    name,
    shape,
    data: generate(name, shape, name.startsWith('layer') && name.includes(last)),
  }));
  return writeSafetensors(tensors, { format: 'pt' });
}

/** Networks the engine runs, and those it refuses (with what the message must say). */
const RUN = [
  'timm-resnet26',
  'timm-resnet18d',
  'timm-resnet26d',
  'timm-resnet10t',
  'timm-resnet14c',
  'tv-wide_resnet14_2',
  'timm-wide_resnet14_2',
  'tv-resnext14_32x4d',
  'timm-resnext26d_32x4d',
  'timm-seresnet14',
  'timm-seresnext26d_32x4d',
  'timm-seresnet10',
];
const REFUSED: Record<string, RegExp> = {
  'timm-ecaresnet26t': /tensor layer1\.0\.se\.conv\.weight belongs to efficient channel attention \(ECA-ResNet/,
  'timm-resnetv2_50': /tensor stem\.conv\.weight belongs to a pre-activation ResNet v2/,
  'timm-res2net50_26w_4s': /tensor layer1\.0\.convs\.0\.weight belongs to Res2Net multi-scale convolutions/,
  'timm-skresnet18': /tensor layer1\.0\.conv1\.paths\.0\.conv\.weight belongs to selective-kernel convolutions/,
};

const results: string[] = [];
afterAll(() => {
  if (results.length)
    console.log(
      `\n| network | built by | format, kernels | max rel. logit error |\n| --- | --- | --- | --- |\n${results.join('\n')}`,
    );
});

it('the fixture lists every network once: run, or refused', () => {
  expect(Object.keys(fixture.models).sort()).toEqual([...RUN].sort());
  expect(Object.keys(fixture.refused).sort()).toEqual(Object.keys(REFUSED).sort());
});

describe('ResNet-family networks from timm and torchvision state_dicts', () => {
  for (const key of RUN) {
    it(`${key} matches its library's logits (safetensors with simd and tiled kernels; ONNX)`, async () => {
      const want = fixture.models[key]!;
      const bytes = stateDict(want);
      for (const convStrategy of ['simd', 'tiled'] as const) {
        const model = await loadResNet({ source: { safetensors: bytes }, inputSize: size, convStrategy });
        try {
          const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
          results.push(`| ${key} | ${want.built} | safetensors, ${convStrategy} | ${check.error.toExponential(2)} |`);
          expect(check.error, convStrategy).toBeLessThanOrEqual(1e-4);
          expect(check.top5, convStrategy).toEqual(want.top5);
          expect(model.blocks.length).toBe(
            fixture.models[key]!.params.filter(([n]) => /^layer\d\.\d+\.conv1\.weight$/.test(n)).length,
          );
          for (const [names, logits] of Object.entries(want.lesions ?? {})) {
            const skipBlocks = names.split(',');
            const out = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits', skipBlocks });
            const lesion = compareLogits(out, { logits });
            results.push(
              `| ${key} | ${want.built} | safetensors, ${convStrategy}, without ${names} | ${lesion.error.toExponential(2)} |`,
            );
            expect(lesion.error, names).toBeLessThanOrEqual(1e-4);
          }
        } finally {
          model.dispose();
        }
      }
      const onnx = graphToOnnx(resizeGraph(loadSafetensorsResNet(bytes, key), [size, size]), { softmax: false });
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(onnx);
      const out = await session.run({ input: new ort.Tensor('float32', input, [2, 3, size, size]) });
      const ortCheck = compareLogits(out[session.outputNames[0]!]!.data as Float32Array, want);
      await session.release();
      expect(ortCheck.error, 'onnxruntime').toBeLessThanOrEqual(1e-4);
      const model = await loadResNet({ source: { onnx } });
      try {
        const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
        results.push(
          `| ${key} | ${want.built} | ONNX (onnxruntime ${ortCheck.error.toExponential(2)}) | ${check.error.toExponential(2)} |`,
        );
        expect(check.error, 'onnx').toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
      }
    });
  }

  for (const [key, message] of Object.entries(REFUSED)) {
    it(`${key} is refused while the file is read, naming the module`, async () => {
      const bytes = stateDict({ block: 'bottleneck', params: fixture.refused[key]! } as FamilyModel);
      expect(() => loadSafetensorsResNet(bytes, `${key}.safetensors`)).toThrow(message);
      await expect(loadResNet({ source: { safetensors: bytes } })).rejects.toThrow(message);
    });
  }
});

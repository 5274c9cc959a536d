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
import { packageRoot } from '../src/node/paths.js';
import { goldenInput, goldenParameters, u, writeSafetensors } from './helpers/golden.js';

interface Golden { models: Record<string, { logits: number[][]; top5: number[][]; params: number }> }
let golden: Golden;
let work: string;
const results: string[] = [];

beforeAll(async () => {
  golden = JSON.parse(await readFile(join(packageRoot(), '..', 'shared', 'golden', 'torchvision-resnet-golden.json'), 'utf8'));
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-golden-'));
});
afterAll(async () => {
  if (results.length) console.log(`\n| depth | safetensors: max rel. logit error | GPU bytes at batch 1 | batch 8 |\n| --- | --- | --- | --- |\n${results.join('\n')}`);
  await rm(work, { recursive: true, force: true });
});

describe('the generator', () => {
  it('reproduces the README check values', () => {
    expect(u('conv1.weight', 0)).toBe(-0.5070569515228271);
    expect(u('conv1.weight', 1)).toBe(0.6965248584747314);
    expect(u('input', 0)).toBe(0.28604722023010254);
  });
});

describe('torchvision ResNets from safetensors', () => {
  for (const depth of [18, 34, 50, 101, 152]) {
    it(`resnet${depth} matches torchvision's logits`, async () => {
      const params = goldenParameters(depth);
      const want = golden.models[`resnet${depth}`]!;
      expect(params.reduce((a, p) => a + p.data.length, 0)).toBe(want.params);
      const file = join(work, `resnet${depth}.safetensors`);
      await writeFile(file, writeSafetensors(params, { format: 'pt' }));
      const model = await loadResNet({ source: file });
      try {
        const logits = await model.infer(goldenInput(), { batch: 2, layout: 'nchw', output: 'logits' });
        let diff = 0, scale = 0;
        for (let b = 0; b < 2; b++) for (let i = 0; i < 1000; i++) {
          diff = Math.max(diff, Math.abs(logits[b * 1000 + i]! - want.logits[b]![i]!));
          scale = Math.max(scale, Math.abs(want.logits[b]![i]!));
        }
        const top5 = [0, 1].map((b) => [...logits.subarray(b * 1000, (b + 1) * 1000).keys()].sort((x, y) => logits[b * 1000 + y]! - logits[b * 1000 + x]!).slice(0, 5));
        results.push(`| resnet${depth} | ${(diff / scale).toExponential(2)} | ${(model.info.weightBytes + model.arenaBytes(1)).toLocaleString('en-US')} | ${(model.info.weightBytes + model.arenaBytes(8)).toLocaleString('en-US')} |`);
        expect(diff / scale).toBeLessThanOrEqual(1e-4);
        expect(top5).toEqual(want.top5);
      } finally {
        model.dispose();
      }
    });
  }

  it('clear errors: lying header, missing tensor, wrong shape, depth mismatch', async () => {
    const params = goldenParameters(18);
    const good = writeSafetensors(params);
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(0, good.length, true);
    await expect(loadResNet({ source: { safetensors: lying } })).rejects.toThrow(/header length \d+ runs past the end of the file/);
    const missing = writeSafetensors(params.filter((p) => p.name !== 'layer2.1.bn1.running_var'));
    await expect(loadResNet({ source: { safetensors: missing } })).rejects.toThrow(/tensor layer2\.1\.bn1\.running_var is missing \(expected shape \[128\]\)/);
    const wrong = writeSafetensors(params.map((p) => (p.name === 'layer3.0.conv2.weight' ? { ...p, shape: [256, 128, 3, 6] } : p)));
    await expect(loadResNet({ source: { safetensors: wrong } })).rejects.toThrow(/tensor layer3\.0\.conv2\.weight has shape \[256,128,3,6\], expected \[256,256,3,3\]/);
    await expect(loadResNet({ source: { safetensors: good }, depth: 50 })).rejects.toThrow(ModelFormatError);
    await expect(loadResNet({ source: { safetensors: good }, depth: 50 })).rejects.toThrow(/a ResNet-18, not the ResNet-50 asked for/);
  });
});

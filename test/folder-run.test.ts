/**
 * Folder runs through the CLI, as a user runs a collection: a folder in batches to JSON Lines (an
 * unreadable file is an error line and the exit code 1), an interrupted run resumed, shards that add up to
 * the whole run, --list; and eval's accuracy table against a labels CSV.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/node/paths.js';

const root = packageRoot();
const cli = join(root, 'dist', 'cli.js');
const samples = join(root, 'demo', 'samples');
let work: string;
let folder: string;

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: work, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

type Line = { file: string; top?: Array<{ index: number; probability: number }>; error?: string };
const lines = async (path: string): Promise<Line[]> =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
/** file -> top-1 index (or the error), for comparing runs whatever their order. */
const byFile = (ls: Line[]) => Object.fromEntries(ls.map((l) => [l.file, l.error ? 'error' : l.top![0]!.index]));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-folder-'));
  folder = join(work, 'photos');
  await mkdir(join(folder, 'more'), { recursive: true });
  const photos = (await readdir(samples)).filter((f) => f.endsWith('.JPEG'));
  for (const [i, f] of photos.entries()) await copyFile(join(samples, f), join(folder, i < 3 ? f : join('more', f)));
  await writeFile(join(folder, 'broken.jpg'), 'not a jpeg');
  await writeFile(join(folder, 'notes.txt'), 'not an image: ignored');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('classify over a folder', () => {
  let whole: Record<string, number | string>;

  it('runs it in batches to JSON Lines: every image once, the unreadable one an error line, exit 1', async () => {
    const r = await run('classify', folder, '--batch', '4', '--top', '1', '--out', 'whole.jsonl');
    expect(r.code).toBe(1);
    const ls = await lines(join(work, 'whole.jsonl'));
    expect(ls).toHaveLength(7);
    whole = byFile(ls);
    expect(whole[join(folder, 'broken.jpg')]).toBe('error');
    expect(whole[join(folder, 'more', '340_n02391049_zebra.JPEG')]).toBe(340);
    expect(Object.values(whole).filter((v) => v !== 'error')).toHaveLength(6);
    expect(r.stderr).toContain('6 of 7 images done, 1 failed (error lines in the output)');
  });

  it('shards 1/2 and 2/2 are disjoint and together equal the whole run', async () => {
    await run('classify', folder, '--batch', '2', '--top', '1', '--shard', '1/2', '--out', 's1.jsonl');
    await run('classify', folder, '--batch', '2', '--top', '1', '--shard', '2/2', '--out', 's2.jsonl');
    const [a, b] = [byFile(await lines(join(work, 's1.jsonl'))), byFile(await lines(join(work, 's2.jsonl')))];
    expect(Object.keys(a).filter((f) => f in b)).toEqual([]);
    expect(Object.keys(a).length).toBe(4);
    expect({ ...a, ...b }).toEqual(whole);
  });

  it("an interrupted run, resumed, ends with every image exactly once and the whole run's results", async () => {
    const out = join(work, 'resumed.jsonl');
    const child = spawn(process.execPath, [cli, 'classify', folder, '--top', '1', '--out', out], {
      cwd: work,
      stdio: 'ignore',
    });
    // kill it as soon as two results are in, then leave half a line as a cut-off write would
    for (let i = 0; i < 600 && !(existsSync(out) && (await readFile(out, 'utf8')).split('\n').length > 2); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const before = await lines(out).catch(() => []);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThan(7);
    await writeFile(out, `${await readFile(out, 'utf8')}{"file":"cut off`);
    const r = await run('classify', folder, '--top', '1', '--out', out, '--resume');
    expect(r.stderr).toContain(`(${before.length} already in the output, skipped)`);
    const after = await lines(out);
    expect(after).toHaveLength(7);
    expect(new Set(after.map((l) => l.file)).size).toBe(7);
    expect(byFile(after)).toEqual(whole);
  });

  it('--list takes one path a line; embed writes embeddings the same way', async () => {
    const list = join(work, 'list.txt');
    await writeFile(
      list,
      `# two photos\n${join(folder, '000_n01440764_tench.JPEG')}\n\n${join(folder, 'more', '510_n03095699_container_ship.JPEG')}\n`,
    );
    const r = await run('classify', '--list', list, '--top', '1', '--json');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Line).top![0]!.index),
    ).toEqual([0, 510]);
    const e = await run('embed', '--list', list, '--batch', '2', '--out', 'embeddings.jsonl');
    expect(e.code).toBe(0);
    const embeddings = (await readFile(join(work, 'embeddings.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { embedding: number[] });
    expect(embeddings.map((x) => x.embedding.length)).toEqual([2048, 2048]);
  });

  it('eval: accuracy against a labels CSV, one row per precision with top-1 agreement', async () => {
    const csv = join(work, 'labels.csv');
    await writeFile(
      csv,
      'file,class_index\n000_n01440764_tench.JPEG,0\n340_n02391049_zebra.JPEG,340\n510_n03095699_container_ship.JPEG,510\n250_n02110185_Siberian_husky.JPEG,250\n',
    );
    const r = await run('eval', folder, '--labels', csv, '--precision', 'f32,int8', '--json');
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { precision: string; images: number; top1: number; top5: number; agreement?: number },
      );
    expect(rows.map((x) => x.precision)).toEqual(['f32', 'int8']);
    // the three photos the pretrained model gets right (the husky is its known miss: Tibetan mastiff first)
    expect(rows[0]).toMatchObject({ images: 4, top1: 3, top5: 4 });
    expect(rows[1]!.agreement).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toContain('3 images have no label');
  });
});

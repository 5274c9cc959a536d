/**
 * Which images a command runs on: files and folders (walked recursively, image files only, sorted),
 * `--list <file>` (one path a line; blank lines and `#` comments skipped), and `--shard i/n`, a
 * deterministic share of that list: the images at positions i-1, i-1+n, i-1+2n, ... So n machines given
 * the same arguments cover every image exactly once.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './args.js';

const IMAGE_FILE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

async function walk(folder: string): Promise<string[]> {
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const files: string[] = [];
  for (const e of entries) {
    const path = join(folder, e.name);
    if (e.isDirectory()) files.push(...(await walk(path)));
    else if (IMAGE_FILE.test(e.name)) files.push(path);
  }
  return files;
}

/** The images named by `paths` (folders expanded) and `listFile`, in order, each once. A path that does not exist
 * stays (it becomes an error line). */
export async function collectImages(paths: string[], listFile?: string): Promise<string[]> {
  const named = [...paths];
  if (listFile !== undefined) {
    const text = await readFile(listFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--list ${listFile}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
    });
    named.push(
      ...text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  const files: string[] = [];
  for (const path of named) {
    const isFolder = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    files.push(...(isFolder ? await walk(path) : [path]));
  }
  return [...new Set(files)];
}

export interface Shard {
  index: number;
  count: number;
}

/** `--shard i/n` (1 <= i <= n). */
export function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]),
    count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`--shard must be i/n with 1 <= i <= n, got ${value}`);
  return { index, count };
}

export const shardOf = <T>(items: T[], { index, count }: Shard): T[] => items.filter((_, i) => i % count === index - 1);

/**
 * A folder of one sub-folder per class (the sub-folder's name is the label), its images found
 * recursively: the classes in name order, and each image's class. An empty class folder and fewer than
 * two classes are UsageErrors.
 */
export async function classFolders(
  folder: string,
): Promise<{ classes: string[]; images: Array<{ file: string; label: string }> }> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`${folder}: ${err.code === 'ENOENT' ? 'folder not found' : err.message}`);
  });
  const classes = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (classes.length < 2)
    throw new UsageError(
      `${folder} needs one sub-folder per class, at least 2; it has ${classes.length}` +
        (classes.length ? ` (${classes[0]})` : ''),
    );
  const images: Array<{ file: string; label: string }> = [];
  for (const label of classes) {
    const files = await walk(join(folder, label));
    if (files.length === 0) throw new UsageError(`the class folder ${join(folder, label)} has no images`);
    images.push(...files.map((file) => ({ file, label })));
  }
  return { classes, images };
}

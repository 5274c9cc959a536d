/**
 * What the model cache knows about the files it wrote: each file's size and SHA-256, recorded when the
 * file is written and checked when it is read back, so a damaged file (a flipped bit, a cut-short copy) is
 * found before the engine computes anything with it.
 *
 * Hashing the 102 MB pretrained model costs a few percent of a load (docs/results.md, "Load"); so a load
 * compares each file's size, mtime, ctime and inode with those seen at its last full check (a
 * millisecond) and hashes only the files where one changed. Writing a file, even one
 * whose mtime is put back afterwards, changes its ctime. `fetch --verify` hashes everything.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** One file as it was written. */
export interface FileRecord {
  bytes: number;
  sha256: string;
}

/** Records by path relative to the folder they describe. */
export type FileRecords = Record<string, FileRecord>;

/** A file that is not what was recorded: its absolute path and what is wrong, in a few words. */
export interface Damage {
  file: string;
  problem: string;
}

/** What identifies one state of a file on disk without reading it. */
const fingerprint = (s: { size: number; mtimeMs: number; ctimeMs: number; ino: number }) =>
  `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;

export function sha256File(file: string): Promise<string> {
  return new Promise((done, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (d) => hash.update(d))
      .on('end', () => done(hash.digest('hex')))
      .on('error', reject);
  });
}

/** Size and SHA-256 of each of `names` under `root`; their fingerprints go to `verifiedFile` (see checkFiles). */
export async function recordFiles(root: string, names: readonly string[], verifiedFile: string): Promise<FileRecords> {
  const records: FileRecords = {};
  const seen: Record<string, string> = {};
  for (const name of names) {
    const path = resolve(root, name);
    const info = await stat(path);
    records[name] = { bytes: info.size, sha256: await sha256File(path) };
    seen[name] = fingerprint(info);
  }
  await writeWhole(verifiedFile, `${JSON.stringify(seen)}\n`);
  return records;
}

/** Writes `data` to a temporary file beside `path` and renames it into place: readers see all of it or none. Creates
 * the folder (a fresh model cache has no compact/ yet; convert and train write where they are told). */
export async function writeWhole(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/** A JSON file's value, or undefined when it is missing or not JSON. */
export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface CheckOptions {
  /** Where the fingerprints of the last full check are kept (a cache of this check: may be missing or stale). */
  verifiedFile: string;
  /** Hash every file, whatever its fingerprint says (`fetch --verify`). */
  full?: boolean;
}

/**
 * The first file under `root` that differs from its record (missing, another size, another SHA-256), or
 * undefined when all match. Files whose fingerprint equals the one seen at the last full check are not
 * hashed again unless `full`.
 */
export async function checkFiles(
  root: string,
  records: FileRecords,
  options: CheckOptions,
): Promise<Damage | undefined> {
  const seen = (options.full ? undefined : await readJson(options.verifiedFile)) as Record<string, string> | undefined;
  const now: Record<string, string> = {};
  // Sizes first (a cut-short file is named as such, whichever comes first), then the contents.
  for (const [name, record] of Object.entries(records)) {
    const file = resolve(root, name);
    const info = await stat(file).catch(() => undefined);
    if (!info) return { file, problem: 'is missing' };
    if (info.size !== record.bytes) return { file, problem: `is ${info.size} bytes, expected ${record.bytes}` };
    now[name] = fingerprint(info);
  }
  let hashed = false;
  for (const [name, record] of Object.entries(records)) {
    if (seen?.[name] === now[name]) continue;
    hashed = true;
    const file = resolve(root, name);
    if ((await sha256File(file)) !== record.sha256)
      return { file, problem: 'does not match the SHA-256 recorded when it was written (its bytes changed)' };
  }
  // Remember what was checked; a cache that cannot be written (read-only) is checked in full next time.
  if (hashed) await writeWhole(options.verifiedFile, `${JSON.stringify(now)}\n`).catch(() => undefined);
  return undefined;
}

/** Whether `value` is a well-formed FileRecords object (a stamp from an older version has none). */
export function isFileRecords(value: unknown): value is FileRecords {
  return (
    !!value &&
    typeof value === 'object' &&
    Object.keys(value).length > 0 &&
    Object.values(value).every(
      (r) =>
        r &&
        typeof r === 'object' &&
        Number.isInteger(r.bytes) &&
        typeof r.sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(r.sha256),
    )
  );
}

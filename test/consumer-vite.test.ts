/**
 * A web developer's app: create-vite's vanilla-ts template (its own tsconfig), Vite 8.3.8, the packed
 * project installed from its tarball. `npm run build` (tsc && vite build) must pass, also with
 * skipLibCheck off, and so must the README's web snippets; the build, served by `vite preview`, classifies
 * a photo in Chromium on the main thread and through `webgpu-resnet/worker` with the Node engine's top-1.
 * No Node-native package (Dawn's `webgpu`, sharp) is installed, and the Node entry says how to add them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResNet } from '../src/node.js';
import { compactPretrained } from '../src/node/compact-cache.js';
import { packageRoot } from '../src/node/paths.js';
import { ENGINES, launchBrowser } from './helpers/browser.js';
import { folderBytes, npmInstall, packProject, readmeSnippets } from './helpers/consumer.js';
import { needsRegistry } from './helpers/needs.js';
import { runProcess } from './helpers/processes.js';

/** The create-vite release whose template-vanilla-ts the app starts from (it pins TypeScript ~7.0.2). */
const CREATE_VITE = 'create-vite@9.3.0';
const VITE = '8.3.8';
const zebra = join(packageRoot(), 'demo', 'samples', '340_n02391049_zebra.JPEG');
let work: string;
let app: string;
let preview: ChildProcess | undefined;

const MAIN_TS = `import { loadResNet, type Prediction } from 'webgpu-resnet';
import { createWorkerModel } from 'webgpu-resnet/worker';

const out = document.createElement('pre');
out.id = 'out';
document.body.append(out);

async function run(): Promise<void> {
  const image = new Image();
  image.src = '/zebra.jpg';
  await image.decode();
  const started = performance.now();
  const model = await loadResNet({ source: '/models/resnet50-int8.safetensors' });
  const [main]: Prediction[] = await model.classify(image, { topK: 1 });
  const mainMs = performance.now() - started;
  model.dispose();
  const workerStarted = performance.now();
  const inWorker = await createWorkerModel({ source: '/models/resnet50-int8.safetensors' });
  const [worker] = await inWorker.classify(await createImageBitmap(image), { topK: 1 });
  const workerMs = performance.now() - workerStarted;
  inWorker.dispose();
  out.textContent = JSON.stringify({ main, worker, mainMs, workerMs });
}

run().catch((err: unknown) => {
  out.textContent = JSON.stringify({ error: String(err) });
});
`;

beforeAll(async () => {
  await needsRegistry();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-vite-'));
  const tarball = await packProject(work);
  const template = await runProcess('npm', ['pack', CREATE_VITE, '--pack-destination', work, '--json', '--silent'], {
    cwd: work,
  });
  expect(template.code, template.stderr).toBe(0);
  app = join(work, 'app');
  await mkdir(app);
  const prefix = 'package/template-vanilla-ts/';
  await extract({
    file: join(work, JSON.parse(template.stdout.slice(template.stdout.indexOf('[')))[0].filename),
    cwd: app,
    strip: 2,
    filter: (p) => p.startsWith(prefix),
  });
  const pkg = JSON.parse(await readFile(join(app, 'package.json'), 'utf8'));
  pkg.name = 'vite-consumer';
  pkg.devDependencies.vite = VITE;
  pkg.dependencies = { 'webgpu-resnet': `file:${tarball}` };
  await writeFile(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  await writeFile(join(app, 'src', 'main.ts'), MAIN_TS);
  await mkdir(join(app, 'public', 'models'), { recursive: true });
  await copyFile(await compactPretrained('int8'), join(app, 'public', 'models', 'resnet50-int8.safetensors'));
  await copyFile(zebra, join(app, 'public', 'zebra.jpg'));
  await npmInstall(app);
});
afterAll(async () => {
  preview?.kill();
  if (work) await rm(work, { recursive: true, force: true });
});

describe(`a Vite ${VITE} app from ${CREATE_VITE}'s vanilla-ts template`, () => {
  it('installs no Node-native package; the Node entry names the command that adds Dawn', async () => {
    for (const pkg of ['webgpu', 'sharp', '@img']) expect(existsSync(join(app, 'node_modules', pkg)), pkg).toBe(false);
    console.log(
      `node_modules of the Vite app: ${((await folderBytes(join(app, 'node_modules'))) / 2 ** 20).toFixed(1)} MiB`,
    );
    const script =
      "import('webgpu-resnet').then((m) => m.loadResNet()).catch((e) => { console.log(e.name + ': ' + e.message); process.exit(0); })";
    const ran = await runProcess(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    expect(ran.stdout.trim()).toMatch(
      /^DependencyError: WebGPU in Node \(Dawn\) needs the npm package "webgpu", which is not installed: run `npm install webgpu@0\.6\.2`/,
    );
  });

  it('`npm run build` (tsc && vite build) passes, also with skipLibCheck off; the README web snippets type-check', async () => {
    const build = await runProcess('npm', ['run', 'build'], { cwd: app });
    expect(build.code, build.stdout + build.stderr).toBe(0);
    console.log(
      build.stdout
        .split('\n')
        .filter((l) => /dist\/|built in|tsc/.test(l))
        .join('\n'),
    );
    const tsconfig = JSON.parse((await readFile(join(app, 'tsconfig.json'), 'utf8')).replace(/\/\*.*?\*\//g, ''));
    // the README's snippets as files of their own, unused results allowed
    const snippets = await readmeSnippets('web app');
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    await mkdir(join(app, 'readme'));
    for (const [i, code] of snippets.entries())
      await writeFile(join(app, 'readme', `snippet-${i}.ts`), `${code}\nexport {};\n`);
    const strict = {
      ...tsconfig,
      compilerOptions: { ...tsconfig.compilerOptions, skipLibCheck: false, noUnusedLocals: false },
      include: ['src', 'readme'],
    };
    await writeFile(join(app, 'tsconfig.strict.json'), JSON.stringify(strict, null, 2));
    const tsc = await runProcess(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.strict.json'], {
      cwd: app,
    });
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  });

  it('the build, served by vite preview, classifies the zebra in Chromium on the main thread and in the worker', async () => {
    const node = await loadResNet({ source: await compactPretrained('int8') });
    const [expected] = await node.classify(zebra, { topK: 1 });
    node.dispose();
    preview = spawn(join(app, 'node_modules', '.bin', 'vite'), ['preview', '--host', '127.0.0.1', '--port', '0'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((done, fail) => {
      let text = '';
      preview!.stdout!.on('data', (d: Buffer) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape that starts a terminal colour
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec((text += d.toString()).replace(/\x1b\[[0-9;]*m/g, ''));
        if (m) done(m[0]);
      });
      preview!.on('exit', (code) => fail(new Error(`vite preview exited with ${code}`)));
    });
    const browser = await launchBrowser(ENGINES[0]!);
    try {
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector('#out')?.textContent, { timeout: 600_000 });
      const result = JSON.parse((await page.$eval('#out', (e) => e.textContent))!);
      console.log(`Vite app in Chromium: ${JSON.stringify(result)}; Node engine: ${JSON.stringify(expected)}`);
      expect(result.error).toBeUndefined();
      expect(result.main.index).toBe(expected!.index);
      expect(result.worker.index).toBe(expected!.index);
      expect(Math.abs(result.main.probability - expected!.probability)).toBeLessThan(1e-3);
      expect(failed).toEqual([]);
    } finally {
      await browser.close();
      preview.kill();
      preview = undefined;
    }
  });
});

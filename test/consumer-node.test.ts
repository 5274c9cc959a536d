/**
 * A Node TypeScript app (module nodenext, lib ES2022 without the DOM, types node, skipLibCheck off) with
 * the packed project installed as the README says (`npm install webgpu-resnet webgpu sharp`): it
 * type-checks, as do the README's Node snippets, and classifies a photo. The same compiled script then
 * runs in Deno 2.9.6 and Bun 1.4.4 (both from npm): the same top-1 and probabilities as Node.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEERS } from '../src/node/optional.js';
import { packageRoot } from '../src/node/paths.js';
import { npmInstall, packProject, readmeSnippets, tsBlocks } from './helpers/consumer.js';
import { needsRegistry } from './helpers/needs.js';
import { ourLines, runProcess } from './helpers/processes.js';

const root = packageRoot();
const zebra = join(root, 'demo', 'samples', '340_n02391049_zebra.JPEG');
let work: string;
let app: string;

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'ES2022',
    lib: ['ES2022'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    outDir: 'dist',
    rootDir: 'src',
  },
  include: ['src'],
};

const CLASSIFY_TS = `import { loadResNet, type InMemoryOnnx, type InMemorySafetensors, type ModelSource, type Prediction } from 'webgpu-resnet';

// every type ModelSource names is one the entry exports
export type Sources = [ModelSource, InMemorySafetensors, InMemoryOnnx];

const started = performance.now();
const model = await loadResNet();
const loadMs = performance.now() - started;
const top: Prediction[] = await model.classify(process.argv[2]!, { topK: 5 });
const t0 = performance.now();
for (let i = 0; i < 3; i++) await model.classify(process.argv[2]!);
const msPerImage = (performance.now() - t0) / 3;
console.log(JSON.stringify({ top, loadMs, msPerImage, adapter: model.info.adapter }));
model.dispose();
`;

beforeAll(async () => {
  await needsRegistry();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-node-app-'));
  const tarball = await packProject(work);
  app = join(work, 'app');
  await mkdir(join(app, 'src'), { recursive: true });
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'node-consumer', private: true, type: 'module' }));
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await writeFile(join(app, 'src', 'classify.ts'), CLASSIFY_TS);
  const snippets = await readmeSnippets('node');
  expect(snippets.length).toBeGreaterThanOrEqual(1);
  for (const [i, code] of snippets.entries())
    await writeFile(join(app, 'src', `readme-${i}.ts`), `${code}\nexport {};\n`);
  const typescript = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).devDependencies
    .typescript as string;
  // the README's install line, then the app's own tools
  await npmInstall(app, [tarball, `webgpu@${PEERS.webgpu}`, `sharp@${PEERS.sharp}`]);
  await npmInstall(app, ['--save-dev', `typescript@${typescript}`, '@types/node@20']);
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface Classified {
  top: Array<{ index: number; label: string; probability: number }>;
  loadMs: number;
  msPerImage: number;
  adapter: string;
}
const parse = (stdout: string): Classified => JSON.parse(stdout.trim().split('\n').at(-1)!);
let node: Classified;

describe('a Node TypeScript app (nodenext, no DOM lib, skipLibCheck off)', () => {
  it('type-checks (its code and the README Node snippets) and classifies the zebra', async () => {
    const tsc = await runProcess(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app });
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
    const ran = await runProcess(process.execPath, ['dist/classify.js', zebra], { cwd: app });
    expect(ran.code, ran.stderr).toBe(0);
    node = parse(ran.stdout);
    console.log(
      `Node ${process.version}: ${JSON.stringify(node.top[0])}, ${node.msPerImage.toFixed(0)} ms per image (${node.adapter})`,
    );
    expect(node.top[0]).toMatchObject({ index: 340, label: 'zebra' });
  });
});

/**
 * The runtimes' binaries from their npm packages: Deno's launcher, and Bun's platform package itself (its
 * launcher needs a postinstall script, and npm runs none here: setup installs with --ignore-scripts).
 */
const RUNTIMES = [
  {
    runtime: 'Deno',
    bin: join(root, 'node_modules', '.bin', 'deno'),
    args: ['run', '--allow-all', 'dist/classify.js'],
  },
  {
    runtime: 'Bun',
    bin: join(root, 'node_modules', '@oven', `bun-${process.platform}-${process.arch}`, 'bin', 'bun'),
    args: ['dist/classify.js'],
  },
];

describe.each(RUNTIMES)('$runtime runs the Node entry (Dawn, sharp)', ({ runtime, bin, args }) => {
  it(`classifies the zebra with Node's top-5 and probabilities`, async () => {
    const version = await runProcess(bin, ['--version']);
    expect(version.code, `${bin}: ${version.stderr}`).toBe(0);
    const ran = await runProcess(bin, [...args, zebra], { cwd: app, env: { ...process.env, NO_COLOR: '1' } });
    expect(ran.code, ran.stderr).toBe(0);
    const got = parse(ran.stdout);
    console.log(
      `${runtime} ${version.stdout.split('\n')[0]}: ${JSON.stringify(got.top[0])}, ${got.msPerImage.toFixed(0)} ms per image (${got.adapter}); stderr: ${ourLines(ran.stderr).length} lines`,
    );
    expect(got.top.map((p) => p.index)).toEqual(node.top.map((p) => p.index));
    for (const [i, p] of got.top.entries())
      expect(Math.abs(p.probability - node.top[i]!.probability)).toBeLessThan(1e-6);
  });
});

const DENO_DEVICE_JS = `import { loadResNet } from 'webgpu-resnet';
const dawn = await loadResNet();                     // the engine on Dawn first: it must leave Deno's WebGPU globals alone
dawn.dispose();
const adapter = await navigator.gpu.requestAdapter();
const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
const model = await loadResNet({ device, adapter });
const top = await model.classify(process.argv[2], { topK: 5 });
const t0 = performance.now();
await model.classify(process.argv[2]);
console.log(JSON.stringify({ top, msPerImage: performance.now() - t0, adapter: model.info.adapter, strategy: model.info.convStrategy, instanceOf: device instanceof GPUDevice }));
model.dispose();
`;

describe("Deno's own WebGPU (wgpu)", () => {
  it("runs the model on Deno's device and adapter; Deno's GPUDevice class survives the engine's use of Dawn", async () => {
    await writeFile(join(app, 'deno-device.js'), DENO_DEVICE_JS);
    const ran = await runProcess(RUNTIMES[0]!.bin, ['run', '--allow-all', 'deno-device.js', zebra], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(ran.code, ran.stderr).toBe(0);
    const got = JSON.parse(ran.stdout.trim().split('\n').at(-1)!);
    console.log(
      `Deno's own WebGPU: ${JSON.stringify(got.top[0])}, ${got.msPerImage.toFixed(0)} ms per image (${got.adapter}, ${got.strategy} convolutions)`,
    );
    expect(got.instanceOf).toBe(true);
    expect(got.top.map((p: { index: number }) => p.index)).toEqual(node.top.map((p) => p.index));
    for (const [i, p] of got.top.entries())
      expect(Math.abs(p.probability - node.top[i]!.probability)).toBeLessThan(1e-5);
  });
});

const DENO_BROWSER_BUILD_JS = `import { readFileSync } from 'node:fs';
import { imageToTexture, loadResNet } from 'webgpu-resnet';  // --conditions=browser: dist/browser.js
const refusal = (e) => \`\${e.name}: \${e.message}\`;
const out = {};
out.path = await loadResNet({ source: 'resnet50-int8.safetensors' }).then(() => 'loaded', refusal);
const model = await loadResNet({ source: new URL('resnet50-int8.safetensors', import.meta.url).href });
const [width, height] = JSON.parse(process.argv[3]);
const pixels = new ImageData(new Uint8ClampedArray(readFileSync(process.argv[2])), width, height);
out.imageData = (await model.classify(pixels, { topK: 1 }))[0];
const bitmap = await createImageBitmap(pixels);
out.bitmap = await model.classify(bitmap).then(() => 'classified', refusal);
try { imageToTexture(model.device, bitmap); out.texture = 'copied'; } catch (e) { out.texture = refusal(e); }
console.log(JSON.stringify(out));
model.dispose();
`;

describe('the browser build outside a page (Deno, --conditions=browser, its own WebGPU)', () => {
  it('classifies ImageData on the GPU; a path, a bitmap without a 2D canvas and a texture copy are clear InputErrors', async () => {
    const { decodeImage } = await import('../src/node/image.js');
    const { compactPretrained } = await import('../src/node/compact-cache.js');
    const image = await decodeImage(zebra);
    const rgba = new Uint8Array(image.width * image.height * 4);
    for (let i = 0; i < image.width * image.height; i++) {
      for (let c = 0; c < 3; c++) rgba[4 * i + c] = image.data[i * image.channels + c]!;
      rgba[4 * i + 3] = 255;
    }
    await writeFile(join(app, 'zebra.rgba'), rgba);
    await writeFile(join(app, 'resnet50-int8.safetensors'), await readFile(await compactPretrained('int8')));
    await writeFile(join(app, 'browser-build.js'), DENO_BROWSER_BUILD_JS);
    const ran = await runProcess(
      RUNTIMES[0]!.bin,
      [
        'run',
        '--allow-all',
        '--conditions=browser',
        'browser-build.js',
        'zebra.rgba',
        JSON.stringify([image.width, image.height]),
      ],
      { cwd: app, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(ran.code, ran.stderr).toBe(0);
    const out = JSON.parse(ran.stdout.trim().split('\n').at(-1)!);
    console.log(`the browser build in Deno: ${JSON.stringify(out, null, 1)}`);
    expect(out.path).toBe(
      'InputError: source "resnet50-int8.safetensors" is not a URL, and there is no page to resolve it against (no location): pass a full URL (a file: URL for a local file)',
    );
    expect(out.imageData).toMatchObject({ index: 340, label: 'zebra' });
    expect(out.bitmap).toMatch(
      /^InputError: this runtime has no 2D canvas to read the image's pixels \(outside a page\?\): pass ImageData/,
    );
    expect(out.texture).toMatch(/^InputError: this WebGPU implementation has no copyExternalImageToTexture/);
  });
});

describe('what the consumer tests rely on', () => {
  it('every ```ts block of the README and docs/ is tagged // node or // web app (so one of the apps compiles it)', async () => {
    const blocks = await tsBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const { file, code } of blocks) expect(code.split('\n')[0], file).toMatch(/^\/\/ (node|web app)\b/);
  });

  it("the peer versions the errors name are package.json's", async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    expect(pkg.peerDependencies).toEqual(PEERS);
    expect(pkg.peerDependenciesMeta).toEqual({ sharp: { optional: true }, webgpu: { optional: true } });
  });
});

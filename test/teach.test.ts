/**
 * The demo's Teach panel in both browser engines (test/helpers/browser.ts): three classes, one recorded
 * by holding its button while a fake camera shows a photo, two from files; trained in the worker with the
 * chart drawn per epoch; the camera then shows each class's photo and the live top-1 is that class, with
 * its activation map over the frame; the exported head file is read in Node (its labels) and imported
 * again after going back to ImageNet's classes; the page's classifier speaks the new labels.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headFromSafetensors } from '../src/loaders/head-file.js';
import { packageRoot } from '../src/node/paths.js';
import {
  attribute,
  cameraShowing,
  ENGINES,
  launchBrowser,
  pickFile,
  startDemoServer,
  text,
  waitForStatus,
  type Engine,
} from './helpers/browser.js';
import { writeHuggingFaceFolder } from './helpers/hub-folder.js';

const root = packageRoot();
const sample = (f: string) => join(root, 'demo', 'samples', f);
const ZEBRA = '340_n02391049_zebra.JPEG';
const DOGS = ['250_n02110185_Siberian_husky.JPEG', '260_n02112137_chow.JPEG'];
const PLACES = ['510_n03095699_container_ship.JPEG', '980_n09472597_volcano.JPEG'];
let server: { url: string; stop: () => void };
let work: string;
/** A whole int8 model with the classes zebra / dog / scenery, written by `webgpu-resnet train`. */
let trainedFile: string;
/** A Hugging Face folder (test/helpers/hub-folder.ts) with labels of its own. */
let hfFolder: string;
const HF_LABELS = Array.from({ length: 100 }, (_, i) => `folder label ${i}`);
const browsers: Browser[] = [];

beforeAll(async () => {
  server = await startDemoServer();
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-teach-'));
  const folders = { zebra: [ZEBRA], dog: DOGS, scenery: PLACES };
  for (const [label, files] of Object.entries(folders)) {
    await mkdir(join(work, 'classes', label), { recursive: true });
    for (const f of files) await symlink(sample(f), join(work, 'classes', label, f));
  }
  hfFolder = join(work, 'hf-folder');
  await mkdir(hfFolder);
  const fixture = JSON.parse(await readFile(join(root, 'test', 'fixtures', 'family-golden.json'), 'utf8'));
  await writeHuggingFaceFolder(hfFolder, fixture.models['timm-resnet26'], HF_LABELS, fixture.input[2]);
  trainedFile = join(work, 'trained-int8.safetensors');
  await promisify(execFile)(process.execPath, [
    join(root, 'dist', 'cli.js'),
    'train',
    join(work, 'classes'),
    '--out',
    trainedFile,
    '--precision',
    'int8',
    '--val',
    '0',
    '--epochs',
    '30',
  ]);
});
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  server?.stop();
  await rm(work, { recursive: true, force: true });
});

const panel = '#teach';
const classRow = (label: string) => `[data-testid=teach-class][data-label="${label}"]`;

async function addClass(page: Page, name: string): Promise<void> {
  await page.type('[data-testid=teach-name]', name);
  await page.click('[data-testid=teach-add] button');
  await page.waitForSelector(classRow(name));
}

const count = async (page: Page, label: string) => Number(await attribute(page, classRow(label), 'data-count'));

/** Holds the class's record button for `ms` while the camera runs; resolves to the frames recorded. */
async function holdToRecord(page: Page, label: string, ms: number): Promise<number> {
  const button = (await page.$(`${classRow(label)} .record`))!;
  await button.hover();
  await page.mouse.down();
  await new Promise((r) => setTimeout(r, ms));
  await page.mouse.up();
  await new Promise((r) => setTimeout(r, 300)); // the last grab lands
  return count(page, label);
}

/** Waits for the live prediction to name `label` (the camera showing its photo); returns it and its probability. */
async function liveTop(
  page: Page,
  label: string,
): Promise<{ label: string; probability: number; mapClass: string | null }> {
  await page.waitForFunction(
    (want: string) =>
      document.querySelector<HTMLElement>('[data-testid=teach-prediction]')?.dataset.label === want ||
      document.querySelector<HTMLElement>('#teach')!.dataset.error,
    { timeout: 300_000, polling: 200 },
    label,
  );
  expect(await attribute(page, panel, 'data-error')).toBeNull();
  return {
    label: (await attribute(page, '[data-testid=teach-prediction]', 'data-label'))!,
    probability: Number(await attribute(page, '[data-testid=teach-prediction]', 'data-probability')),
    mapClass: await attribute(page, '[data-testid=teach-overlay]', 'data-class'),
  };
}

describe.each(ENGINES.map((e) => [e.label, e] as const))('the Teach panel in %s', (_label, engine: Engine) => {
  it('classes from the camera and from files, trained in the worker; live top-1 and map; export, back to ImageNet, import', async () => {
    const browser = await launchBrowser(engine);
    browsers.push(browser);
    const errors: string[] = [];
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
    await page.goto(server.url);
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    await cameraShowing(page, `samples/${ZEBRA}`);

    for (const name of ['zebra', 'dog', 'scenery']) await addClass(page, name);
    await addClass(page, 'dog'); // a second class of the same name is refused
    expect(await attribute(page, panel, 'data-error')).toBe('there is already a class named dog');
    expect(await page.$$eval('[data-testid=teach-class]', (rows) => rows.length)).toBe(3);
    expect(await page.$eval('[data-testid=teach-train]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

    await page.click('[data-testid=teach-camera]');
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#teach video')!.readyState >= 2, {
      timeout: 60_000,
    });
    const recorded = await holdToRecord(page, 'zebra', 1000);
    expect(recorded).toBeGreaterThanOrEqual(3);
    const input = async (label: string) =>
      (await page.$(`${classRow(label)} input`)) as unknown as { uploadFile(...paths: string[]): Promise<void> };
    await (await input('dog')).uploadFile(...DOGS.map(sample));
    await (await input('scenery')).uploadFile(...PLACES.map(sample));
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector<HTMLElement>('[data-testid=teach-class][data-label="scenery"]')?.dataset.count,
        ) === 2,
      { timeout: 60_000 },
    );
    expect([await count(page, 'dog'), await count(page, 'scenery')]).toEqual([2, 2]);

    await page.$eval('[data-testid=teach-epochs]', (e) => ((e as HTMLInputElement).value = '30'));
    const t0 = Date.now();
    await page.click('[data-testid=teach-train]');
    await page.waitForFunction(
      () =>
        (document.querySelector<HTMLElement>('#teach')!.dataset.trained ?? '') !== '' ||
        document.querySelector<HTMLElement>('#teach')!.dataset.error,
      { timeout: 600_000, polling: 200 },
    );
    expect(await attribute(page, panel, 'data-error')).toBeNull();
    const trainedIn = Date.now() - t0;
    expect(await attribute(page, panel, 'data-trained')).toBe('zebra,dog,scenery');
    const epochs = Number(await attribute(page, '[data-testid=teach-chart]', 'data-epochs'));
    expect(epochs).toBeGreaterThanOrEqual(1);
    console.log(
      `${engine.name} Teach: ${recorded} frames recorded + 4 files, ${epochs} epochs, ${trainedIn} ms from the click; ${await text(page, '[data-testid=teach-status]')}`,
    );

    // the camera shows each class's photo: the live top-1 follows, with its map over the frame
    const zebra = await liveTop(page, 'zebra');
    expect(zebra.mapClass).toBe('0');
    await mkdir(join(root, 'test-output'), { recursive: true });
    await (await page.$(panel))!.screenshot({ path: join(root, 'test-output', `teach-${engine.name}.png`) });
    await cameraShowing(page, `samples/${DOGS[0]}`);
    const dog = await liveTop(page, 'dog');
    expect(dog.mapClass).toBe('1');
    console.log(`${engine.name} Teach live: zebra ${zebra.probability.toFixed(3)}, dog ${dog.probability.toFixed(3)}`);
    await page.click('[data-testid=teach-camera]');

    // the page's classifier speaks the new labels
    expect(await pickFile(page, sample(PLACES[1]!))).toBe('done');
    expect(await text(page, '[data-testid=prediction] .name span')).toBe('scenery');

    // export: the head-only file, read in Node
    const bytes = await page.evaluate(async () => [
      ...new Uint8Array(
        await (
          await fetch(document.querySelector<HTMLAnchorElement>('[data-testid=teach-export]')!.href)
        ).arrayBuffer(),
      ),
    ]);
    const file = join(work, `head-${engine.name}.safetensors`);
    await writeFile(file, Uint8Array.from(bytes));
    const head = headFromSafetensors(Uint8Array.from(bytes), file);
    expect(head.labels).toEqual(['zebra', 'dog', 'scenery']);
    expect(head.weights.length).toBe(2048 * 3);
    console.log(`${engine.name} Teach: the exported head file is ${bytes.length} bytes`);

    // back to ImageNet's classes, then the file imported again
    await page.click('[data-testid=teach-forget]');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#teach')!.dataset.trained === undefined);
    expect(await waitForStatus(page, ['done'])).toBe('done'); // the image on show, classified again
    expect(await pickFile(page, sample(PLACES[1]!))).toBe('done');
    expect(await text(page, '[data-testid=prediction] .name span')).toBe('volcano');
    await (
      (await page.$('[data-testid=teach-import]')) as unknown as { uploadFile(...paths: string[]): Promise<void> }
    ).uploadFile(file);
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#teach')!.dataset.trained === 'zebra,dog,scenery',
      { timeout: 60_000 },
    );
    expect(await waitForStatus(page, ['done'])).toBe('done');
    expect(await text(page, '[data-testid=prediction] .name span')).toBe('scenery');
    expect(await pickFile(page, sample(DOGS[1]!))).toBe('done');
    expect(await text(page, '[data-testid=prediction] .name span')).toBe('dog');
    // a file that is not a head is refused, by name
    const notHead = join(work, 'not-a-head.safetensors');
    await writeFile(notHead, 'nonsense');
    await (
      (await page.$('[data-testid=teach-import]')) as unknown as { uploadFile(...paths: string[]): Promise<void> }
    ).uploadFile(notHead);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#teach')!.dataset.error, { timeout: 60_000 });
    expect(await attribute(page, panel, 'data-error')).toMatch(/^not-a-head\.safetensors: /);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a whole model file written by `webgpu-resnet train` opens with the model-file picker and classifies with its labels', async () => {
    const browser = await launchBrowser(engine);
    browsers.push(browser);
    const page = await browser.newPage();
    await page.goto(server.url);
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    await (
      (await page.$('[data-testid=model-file]')) as unknown as { uploadFile(...paths: string[]): Promise<void> }
    ).uploadFile(trainedFile);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=weights-source]')?.textContent === 'file' ||
        document.querySelector('[data-testid=status]')?.textContent?.startsWith('error'),
      { timeout: 600_000, polling: 200 },
    );
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    console.log(`${engine.name}: ${await text(page, '#progress-text')}`);
    expect(await text(page, '#progress-text')).toMatch(/^trained-int8\.safetensors: .* 3 classes/);
    expect(await pickFile(page, sample(DOGS[1]!))).toBe('done');
    expect(await text(page, '[data-testid=prediction] .name span')).toBe('dog');
    await page.close();
  });

  it("a Hugging Face folder's files open with the model-file picker: the architecture and the folder's own labels", async () => {
    const browser = await launchBrowser(engine);
    browsers.push(browser);
    const page = await browser.newPage();
    await page.goto(server.url);
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    const files = ['config.json', 'model.safetensors', 'preprocessor_config.json'].map((f) => join(hfFolder, f));
    await (
      (await page.$('[data-testid=model-file]')) as unknown as { uploadFile(...paths: string[]): Promise<void> }
    ).uploadFile(...files);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=weights-source]')?.textContent === 'file' ||
        document.querySelector('[data-testid=status]')?.textContent?.startsWith('error'),
      { timeout: 600_000, polling: 200 },
    );
    expect(await waitForStatus(page, ['ready'])).toBe('ready');
    const loaded = await text(page, '#progress-text');
    console.log(`${engine.name}: ${loaded}`);
    expect(loaded).toMatch(
      /^config\.json \+ model\.safetensors \+ preprocessor_config\.json: .*ResNet-26, .* 100 classes \(labels: config\.json id2label\)/,
    );
    expect(await pickFile(page, sample(ZEBRA))).toBe('done');
    expect(HF_LABELS).toContain(await text(page, '[data-testid=prediction] .name span'));
    await page.screenshot({ path: join(root, 'test-output', `demo-${engine.name}-hf-folder.png`), fullPage: true });
    await page.close();
  });
});

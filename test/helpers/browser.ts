/**
 * The demo server and two browser engines for the browser tests, both driven by puppeteer-core: Debian's
 * Chromium over CDP (WebGPU: Dawn + Tint on SwiftShader) and Debian's Firefox ESR over WebDriver BiDi
 * (WebGPU: wgpu + naga on Mesa lavapipe). One driver for both, so every browser test is written once and
 * run in each engine (playwright-core cannot drive a stock Firefox).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { packageRoot } from '../../src/node/paths.js';

export type EngineName = 'chromium' | 'firefox';
export interface Engine {
  name: EngineName;
  /** For test titles and logs: the browser and the WebGPU implementation under it. */
  label: string;
  executable: string;
}

export const ENGINES: readonly Engine[] = [
  {
    name: 'chromium',
    label: 'Chromium (Dawn/Tint, SwiftShader)',
    executable: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  },
  {
    name: 'firefox',
    label: 'Firefox (wgpu/naga, lavapipe)',
    executable: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
  },
];

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Firefox prefs for a quiet, offline test profile. */
const FIREFOX_PREFS: Record<string, unknown> = {
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

/** A wait in the page (waitForFunction) is one protocol call: longer than the longest wait the tests allow. */
const PROTOCOL_TIMEOUT = 900_000;

export interface LaunchOptions {
  /** WebGPU on (the default) or off (Chromium without --enable-unsafe-webgpu, Firefox with dom.webgpu.enabled false). */
  webgpu?: boolean;
  /**
   * A fake camera: Chromium plays `y4m` (a file); Firefox's fake camera (media.navigator.streams.fake)
   * plays a generated pattern and cannot play a file.
   */
  camera?: { y4m: string };
}

function missing(engine: Engine): string {
  const pkg = engine.name === 'chromium' ? 'chromium' : 'firefox-esr';
  return `no ${engine.name} at ${engine.executable}: install it (Debian/Ubuntu: apt-get install ${pkg}; npm run setup does) or set ${engine.name === 'chromium' ? 'CHROMIUM_PATH' : 'FIREFOX_PATH'}`;
}

/** Headless `engine` with WebGPU on or off. */
export function launchBrowser(engine: Engine, { webgpu = true, camera }: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(engine.executable)) throw new Error(missing(engine));
  if (engine.name === 'chromium') {
    const cameraArgs = camera
      ? [
          '--use-fake-device-for-media-stream',
          '--use-fake-ui-for-media-stream',
          `--use-file-for-fake-video-capture=${camera.y4m}`,
        ]
      : [];
    return puppeteer.launch({
      executablePath: engine.executable,
      headless: true,
      protocolTimeout: PROTOCOL_TIMEOUT,
      args: [...CHROMIUM_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...cameraArgs],
    });
  }
  const prefs = {
    ...FIREFOX_PREFS,
    'dom.webgpu.enabled': webgpu,
    ...(webgpu ? { 'gfx.webgpu.ignore-blocklist': true } : {}),
    ...(camera ? { 'media.navigator.streams.fake': true, 'media.navigator.permission.disabled': true } : {}),
  };
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: engine.executable,
    headless: true,
    protocolTimeout: PROTOCOL_TIMEOUT,
    extraPrefsFirefox: prefs,
  });
}

/** Starts scripts/demo-server.mjs on a free port; resolves to its URL and a stop function. */
export async function startDemoServer(): Promise<{ url: string; stop: () => void }> {
  const root = packageRoot();
  const server: ChildProcess = spawn(process.execPath, [join(root, 'scripts', 'demo-server.mjs'), '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString());
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
  });
  return { url, stop: () => server.kill() };
}

/** The page's status line: loading / ready / running / done, or `error: ...`. */
export const status = (page: Page): Promise<string> => page.$eval('[data-testid=status]', (e) => e.textContent ?? '');

/** Waits until the status is one of `states` or an error, and returns it. */
export async function waitForStatus(page: Page, states: string[], timeout = 600_000): Promise<string> {
  await page.waitForFunction(
    (wanted: string[]) => {
      const t = document.querySelector('[data-testid=status]')?.textContent ?? '';
      return wanted.includes(t) || t.startsWith('error');
    },
    { timeout, polling: 100 },
    states,
  );
  return status(page);
}

/** Text of the first element matching `selector`. */
export const text = (page: Page, selector: string): Promise<string> => page.$eval(selector, (e) => e.textContent ?? '');
/** An attribute of the first element matching `selector` (null when absent). */
export const attribute = (page: Page, selector: string, name: string): Promise<string | null> =>
  page.$eval(selector, (e, n) => e.getAttribute(n), name);

/** The prediction rows, in rank order. */
export const predictions = (page: Page): Promise<{ index: number; p: number }[]> =>
  page.$$eval('[data-testid=prediction]', (els) =>
    els.map((e) => ({
      index: Number((e as HTMLElement).dataset.index),
      p: Number((e as HTMLElement).dataset.probability),
    })),
  );

/** Picks `file` in the page's file input, waits for the result; returns the status. */
export async function pickFile(page: Page, file: string): Promise<string> {
  const input = await page.$('#file');
  if (!input) throw new Error('the page has no #file input');
  await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(file);
  return waitForStatus(page, ['done']);
}

/** Clicks the first element matching `selector` and waits for the result; returns the status. */
export async function clickAndWait(page: Page, selector: string): Promise<string> {
  await page.click(selector);
  return waitForStatus(page, ['done']);
}

/**
 * The main thread's longest stall: a 10 ms interval timer records every gap over 50 ms beyond its period
 * (both engines; Firefox has no Long Tasks API). Installed before any page script by `watchStalls`.
 */
const STALLS = `window.stalls = [];
{ let last = performance.now();
  setInterval(() => { const now = performance.now(); const gap = now - last - 10; if (gap > 50) window.stalls.push(gap); last = now; }, 10); }`;
export const watchStalls = (page: Page) => page.evaluateOnNewDocument(STALLS);
export const longestStall = (page: Page): Promise<number> =>
  page.evaluate(() => Math.max(0, ...(window as unknown as { stalls: number[] }).stalls));
export const resetStalls = (page: Page): Promise<void> =>
  page.evaluate(() => void ((window as unknown as { stalls: number[] }).stalls.length = 0));

/**
 * Replaces the page's camera by a canvas stream showing the photo at `src` (a URL on the demo server) at
 * its own size, redrawn ten times a second; `cameraShowing` again, once the stream runs, switches the
 * photo. For Firefox: its fake camera (media.navigator.streams.fake) plays a generated pattern, not a file.
 */
export async function cameraShowing(page: Page, src: string): Promise<void> {
  await page.evaluate(async (url: string) => {
    const w = window as unknown as { fakeCamera?: { image: ImageBitmap } };
    const image = await createImageBitmap(await (await fetch(url)).blob());
    if (w.fakeCamera) {
      w.fakeCamera.image = image;
      return;
    }
    const camera = (w.fakeCamera = { image });
    const canvas = Object.assign(document.createElement('canvas'), { width: image.width, height: image.height });
    const draw = () => {
      canvas.width = camera.image.width;
      canvas.height = camera.image.height;
      canvas.getContext('2d')!.drawImage(camera.image, 0, 0);
    };
    draw();
    setInterval(draw, 100);
    navigator.mediaDevices.getUserMedia = async () => canvas.captureStream(10);
  }, src);
}

/**
 * The demo page: loads ResNet-50 with a byte progress bar, classifies a picked, dropped, pasted or
 * sample image, shows the top-5 with bars, the latency of the first and of warm runs, and the adapter.
 * Test hooks: [data-testid=status] says loading / ready / running / done or an error; each prediction
 * row is [data-testid=prediction] with data-index and data-probability, in rank order.
 */
import { imageToTexture, loadResNet, type BrowserImage, type ResNetModel } from '../src/browser.js';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = el('status');
const inputs = () => [el<HTMLInputElement>('file'), ...document.querySelectorAll<HTMLButtonElement>('#samples button')];
let model: ResNetModel<BrowserImage> | undefined;
let firstMs: number | undefined;
let busy = false;

function setStatus(text: string, error = false): void {
  statusEl.textContent = error ? `error: ${text}` : text;
  statusEl.classList.toggle('error', error);
}

function enable(on: boolean): void {
  for (const i of inputs()) i.disabled = !on;
}

const NO_WEBGPU = 'WebGPU is not available in this browser. Use a recent Chrome or Edge (113+) or Safari 26+; in other browsers enable WebGPU (Chrome: chrome://flags/#enable-unsafe-webgpu; Firefox: dom.webgpu.enabled). The page must be served from https:// or localhost.';

async function start(): Promise<void> {
  enable(false);
  await listSamples();
  if (!('gpu' in navigator) || !navigator.gpu) {
    setStatus(NO_WEBGPU, true);
    el('progress').hidden = true;
    el('progress-text').textContent = '';
    return;
  }
  if (!(await navigator.gpu.requestAdapter())) {
    setStatus('WebGPU is present but no GPU adapter is available: the GPU or its driver is blocklisted or disabled. Enable WebGPU in chrome://flags/#enable-unsafe-webgpu (or start Chrome with --enable-unsafe-webgpu) and check chrome://gpu.', true);
    return;
  }
  const progress = el<HTMLProgressElement>('progress');
  const text = el('progress-text');
  try {
    setStatus('loading');
    model = await loadResNet({
      source: new URL('weights/model.json', location.href),
      onProgress: ({ loadedBytes, totalBytes }) => {
        progress.max = totalBytes || 1;
        progress.value = loadedBytes;
        text.textContent = `weights: ${(loadedBytes / 1e6).toFixed(1)} / ${(totalBytes / 1e6).toFixed(1)} MB`;
      },
    });
    text.textContent = `weights: ${(model.info.weightBytes / 1e6).toFixed(1)} MB on the GPU, ${model.info.dispatches} dispatches per image`;
    el('adapter').textContent = `adapter: ${model.info.adapter}`;
    setStatus('ready');
    enable(true);
    // for the browser test (and the curious, from the console)
    Object.assign(window, { webgpuResnet: { model, imageToTexture } });
  } catch (err) {
    setStatus(err instanceof Error ? err.message : String(err), true);
  }
}

async function listSamples(): Promise<void> {
  const files: string[] = await fetch('samples.json').then((r) => (r.ok ? r.json() : []), () => []);
  const box = el('samples');
  for (const file of files) {
    const button = document.createElement('button');
    button.type = 'button';
    button.title = file.replace(/^\d+_n\d+_/, '').replace(/\.\w+$/, '').replace(/_/g, ' ');
    button.innerHTML = `<img src="samples/${encodeURIComponent(file)}" alt="${button.title}">`;
    button.addEventListener('click', async () => classifyBlob(await (await fetch(`samples/${encodeURIComponent(file)}`)).blob()));
    box.append(button);
  }
}

async function classifyBlob(blob: Blob): Promise<void> {
  if (!model || busy) return;
  busy = true;
  enable(false);
  setStatus('running');
  const preview = el<HTMLImageElement>('preview');
  URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  el('result').hidden = false;
  try {
    const bitmap = await createImageBitmap(blob).catch(() => {
      throw new Error(`cannot decode this file as an image (${blob.type || 'unknown type'})`);
    });
    const t0 = performance.now();
    const predictions = await model.classify(bitmap, { topK: 5 });
    const ms = performance.now() - t0;
    bitmap.close();
    const warm = firstMs !== undefined;
    firstMs ??= ms;
    const list = el('predictions');
    list.replaceChildren(...predictions.map((p) => {
      const li = document.createElement('li');
      li.dataset.testid = 'prediction';
      li.dataset.index = String(p.index);
      li.dataset.probability = String(p.probability);
      li.innerHTML = `<div class="name"><span>${p.label.replace(/_/g, ' ')}</span><span>${(100 * p.probability).toFixed(1)}%</span></div><div class="bar"><span style="width:${(100 * p.probability).toFixed(1)}%"></span></div>`;
      return li;
    }));
    el('latency').textContent = warm
      ? `this run: ${ms.toFixed(0)} ms (warm) · first run: ${firstMs.toFixed(0)} ms`
      : `first run: ${ms.toFixed(0)} ms (includes shader compilation)`;
    setStatus('done');
  } catch (err) {
    setStatus(err instanceof Error ? err.message : String(err), true);
  } finally {
    busy = false;
    enable(true);
  }
}

el<HTMLInputElement>('file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void classifyBlob(file);
});
const drop = el('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void classifyBlob(file);
});
document.addEventListener('paste', (e) => {
  const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) void classifyBlob(file);
});

void start();

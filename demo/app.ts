/**
 * The demo page: loads ResNet-50 (int8 compact weights by default, in a Worker: engine.ts) with a byte
 * progress bar, from the browser's weight cache after the first visit; classifies a picked, dropped,
 * pasted or sample image, shows the top-5 with bars, the latency of the first and of warm runs, and the
 * adapter. Panels: live camera classification (live.ts), residual-block toggles that re-classify live
 * (blocks.ts), GPU time per block from the timestamp profile (profile.ts), and the cosine similarity of
 * two images' embeddings (compare.ts), and new classes taught from the camera or files (teach.ts). URL parameters: ?weights=int8|f16|f32, ?worker=0.
 * Test hooks: [data-testid=status] says loading / ready / running / done or an error; each prediction
 * row is [data-testid=prediction] with data-index and data-probability, in rank order;
 * [data-testid=weights-source] is network or cache once the model is ready.
 */
import { imageToTexture, InputError, loadResNet } from '../src/browser.js';
import { startModel, WEIGHTS, type DemoModel, type WeightsChoice } from './engine.js';
import { livePanel } from './live.js';
import { teachPanel } from './teach.js';
import { noAdapter, noWebGPU } from './unsupported.js';
import { drawHeatmap } from './heatmap.js';
import { blockPanel, type BlockPanel } from './blocks.js';
import { comparePanel, type ComparePanel } from './compare.js';
import { drawProfile, groupProfile } from './profile.js';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = el('status');
const inputs = () => [
  el<HTMLInputElement>('file'),
  el<HTMLInputElement>('model-file'),
  ...document.querySelectorAll<HTMLButtonElement>('#samples button'),
];
let model: DemoModel | undefined;
let firstMs: number | undefined;
let busy = false;
let blocks: BlockPanel | undefined;
let compare: ComparePanel | undefined;
let samples: string[] = [];
/** The image on show, classified again when blocks are switched on or off. */
let current: Blob | undefined;
/** Whether a profile is on show (then it is measured again when blocks change). */
let profiled = false;
/** The sets of deleted blocks run so far (a new set plans its network, and may compile a shader, first). */
const seen = new Set<string>();

function setStatus(text: string, error = false): void {
  statusEl.textContent = error ? `error: ${text}` : text;
  statusEl.classList.toggle('error', error);
}

function enable(on: boolean): void {
  for (const i of inputs()) i.disabled = !on;
  blocks?.enable(on);
  compare?.enable(on);
  el<HTMLButtonElement>('profile-button').disabled = !on;
}

/** The blob as an ImageBitmap, or a clear error. */
async function bitmapOf(blob: Blob): Promise<ImageBitmap> {
  return createImageBitmap(blob).catch(() => {
    throw new Error(`cannot decode this file as an image (${blob.type || 'unknown type'})`);
  });
}

/** Runs `task` with the controls disabled and the status showing `running`, then `done` or the error. */
async function exclusive(task: () => Promise<void>): Promise<void> {
  if (!model || busy) return;
  busy = true;
  enable(false);
  setStatus('running');
  try {
    await task();
    setStatus('done');
  } catch (err) {
    setStatus(err instanceof Error ? err.message : String(err), true);
  } finally {
    busy = false;
    enable(true);
  }
}

async function start(): Promise<void> {
  enable(false);
  await listSamples();
  if (!('gpu' in navigator) || !navigator.gpu) {
    setStatus(noWebGPU(), true);
    el('progress').hidden = true;
    el('progress-text').textContent = '';
    return;
  }
  if (!(await navigator.gpu.requestAdapter())) {
    setStatus(noAdapter(), true);
    return;
  }
  const params = new URLSearchParams(location.search);
  const choice: WeightsChoice =
    (params.get('weights') ?? 'int8') in WEIGHTS ? ((params.get('weights') ?? 'int8') as WeightsChoice) : 'int8';
  weightsChoice(choice);
  await load(choice);
}

/** Loads the weights on offer (`choice`) or a model file of the user's, in place of the model loaded before. */
async function load(from: WeightsChoice | File[]): Promise<void> {
  const progress = el<HTMLProgressElement>('progress');
  const text = el('progress-text');
  const inWorker = new URLSearchParams(location.search).get('worker') !== '0';
  const name = typeof from === 'string' ? WEIGHTS[from].label : from.map((f) => f.name).join(' + ');
  enable(false);
  model?.engine.dispose();
  model = undefined;
  try {
    setStatus('loading');
    let downloaded = 0;
    const source = typeof from === 'string' ? from : await fileSource(from);
    model = await startModel(source, inWorker, ({ loadedBytes, totalBytes }) => {
      progress.max = totalBytes || 1;
      progress.value = loadedBytes;
      downloaded = Math.max(totalBytes, loadedBytes);
      text.textContent = `weights: ${(loadedBytes / 1e6).toFixed(1)} / ${(totalBytes / 1e6).toFixed(1)} MB`;
    });
    if (typeof from !== 'string') downloaded = from.reduce((n, f) => n + f.size, 0); // from memory: no progress
    const where =
      typeof from !== 'string'
        ? `read from your file${from.length > 1 ? 's' : ''}`
        : model.info.weightsFrom === 'cache'
          ? 'read from the browser cache'
          : 'downloaded (kept in the browser cache)';
    el('weights-source').textContent =
      typeof from !== 'string'
        ? 'file'
        : model.info.weightsFrom === 'mixed'
          ? 'network'
          : (model.info.weightsFrom ?? 'network');
    text.textContent =
      `${name}: ${(downloaded / 1e6).toFixed(1)} MB ${where}; ` +
      `${model.info.architecture}, ${(model.info.weightBytes / 1e6).toFixed(1)} MB on the GPU, ${model.labels.length} classes${model.info.labelsFrom ? ` (labels: ${model.info.labelsFrom})` : ''}, ${model.info.dispatches} dispatches per image (${model.info.convStrategy} convolutions), ${model.inWorker ? 'in a worker' : 'on the main thread'}`;
    el('adapter').textContent = `adapter: ${model.info.adapter}`;
    el('blocks').querySelector('.block-grid')!.replaceChildren();
    blocks = blockPanel(
      el('blocks'),
      model.blocks,
      () =>
        void exclusive(async () => {
          if (current) await classifyNow(current);
          if (profiled) await measure();
        }),
    );
    el('blocks').hidden = model.blocks.length === 0;
    compare ??= comparePanel(
      el('compare'),
      samples,
      [/husky/, /chow/],
      async (blob) => model!.embed(await bitmapOf(blob), { skipBlocks: blocks?.skipped() }),
      (message) => setStatus(message, true),
    );
    for (const id of ['profile', 'compare', 'live', 'teach']) el(id).hidden = false;
    setStatus('ready');
    enable(true);
    // for the browser test (and the curious, from the console)
    Object.assign(window, {
      webgpuResnet: { model: model.engine, demo: model, loadResNet, imageToTexture, InputError },
    });
  } catch (err) {
    setStatus(err instanceof Error ? err.message : String(err), true);
    el<HTMLInputElement>('model-file').disabled = false;
  }
}

/**
 * The user's model files as an in-memory source: a folder's files (a Hugging Face or timm folder: config.json,
 * model.safetensors, preprocessor_config.json) when there are several or a config.json, else one file: ONNX
 * by its extension, else safetensors (a compact file from convert or train).
 */
async function fileSource(
  files: File[],
): Promise<{ onnx: Uint8Array } | { safetensors: Uint8Array } | { folder: Record<string, Uint8Array> }> {
  const read = async (file: File) => new Uint8Array(await file.arrayBuffer());
  if (files.length > 1 || files[0]!.name.endsWith('.json')) {
    // (picked files come without their folders: transformers.js's onnx/model.onnx arrives as model.onnx)
    const folder: Record<string, Uint8Array> = {};
    for (const file of files) folder[file.name === 'model.onnx' ? 'onnx/model.onnx' : file.name] = await read(file);
    return { folder };
  }
  const bytes = await read(files[0]!);
  return /\.onnx$/i.test(files[0]!.name) ? { onnx: bytes } : { safetensors: bytes };
}

async function listSamples(): Promise<void> {
  const files: string[] = await fetch('samples.json').then(
    (r) => (r.ok ? r.json() : []),
    () => [],
  );
  samples = files;
  const box = el('samples');
  for (const file of files) {
    const button = document.createElement('button');
    button.type = 'button';
    button.title = file
      .replace(/^\d+_n\d+_/, '')
      .replace(/\.\w+$/, '')
      .replace(/_/g, ' ');
    button.innerHTML = `<img src="samples/${encodeURIComponent(file)}" alt="${button.title}">`;
    button.addEventListener('click', async () =>
      classifyBlob(await (await fetch(`samples/${encodeURIComponent(file)}`)).blob()),
    );
    box.append(button);
  }
}

function classifyBlob(blob: Blob): Promise<void> {
  return exclusive(() => classifyNow(blob));
}

/** Classifies `blob` with the blocks switched off in the block panel deleted, and shows the top-5. */
async function classifyNow(blob: Blob): Promise<void> {
  const loaded = model!;
  heatmapShown(false);
  if (blob !== current) {
    const preview = el<HTMLImageElement>('preview');
    URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(blob);
    current = blob;
  }
  el('result').hidden = false;
  const bitmap = await bitmapOf(blob);
  const skipped = blocks?.skipped() ?? [];
  const t0 = performance.now();
  const predictions = await loaded.classify(bitmap, { topK: 5, skipBlocks: skipped });
  const ms = performance.now() - t0;
  const warm = firstMs !== undefined;
  firstMs ??= ms;
  const newSet = !seen.has(skipped.join());
  seen.add(skipped.join());
  const list = el('predictions');
  list.replaceChildren(
    ...predictions.map((p) => {
      const li = document.createElement('li');
      li.dataset.testid = 'prediction';
      li.dataset.index = String(p.index);
      li.dataset.probability = String(p.probability);
      li.innerHTML = `<div class="name"><span>${p.label.replace(/_/g, ' ')}</span><span>${(100 * p.probability).toFixed(1)}%</span></div><div class="bar"><span style="width:${(100 * p.probability).toFixed(1)}%"></span></div>`;
      li.title = 'click: where the network looks for this class';
      li.addEventListener('click', () => void exclusive(() => showHeatmap(p.index)));
      return li;
    }),
  );
  el('network').textContent = skipped.length ? `network without ${skipped.join(', ')}` : 'the whole network';
  el('latency').textContent = warm
    ? `this run: ${ms.toFixed(0)} ms (${newSet ? 'first with these blocks: includes planning them' : 'warm'}) · first run: ${firstMs.toFixed(0)} ms`
    : `first run: ${ms.toFixed(0)} ms (includes shader compilation)`;
}

function heatmapShown(on: boolean): void {
  el('heatmap').hidden = !on;
  el('preview').hidden = on;
}

/** The class activation map of `classIndex` over the image on show (the blocks switched off stay deleted). */
async function showHeatmap(classIndex: number): Promise<void> {
  if (!current) return;
  const [forMap, forDrawing] = await Promise.all([bitmapOf(current), bitmapOf(current)]);
  const explanation = await model!.explain(forMap, { classIndex, skipBlocks: blocks?.skipped() ?? [] });
  drawHeatmap(el<HTMLCanvasElement>('heatmap'), forDrawing, explanation, model!.preprocessing);
  forDrawing.close();
  heatmapShown(true);
  for (const li of document.querySelectorAll<HTMLElement>('[data-testid=prediction]'))
    li.classList.toggle('explained', li.dataset.index === String(classIndex));
}

/** Profiles one image with the current block toggles and draws GPU time per block. */
async function measure(): Promise<void> {
  const loaded = model!;
  const chart = el('profile-chart');
  const skipped = blocks?.skipped() ?? [];
  const steps = await loaded.profile({ skipBlocks: skipped });
  if (!steps) {
    chart.textContent =
      "This adapter does not offer the 'timestamp-query' feature, so GPU time per layer cannot be measured here.";
    return;
  }
  drawProfile(chart, groupProfile(steps, loaded.blocks, skipped), loaded.info.adapter);
  profiled = true;
}

el<HTMLButtonElement>('profile-button').addEventListener('click', () => void exclusive(measure));

el<HTMLInputElement>('file').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  // emptied, so that picking the same file again classifies it again (and Firefox restores no pick on reload)
  input.value = '';
  if (file) void classifyBlob(file);
});
const drop = el('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
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

/** The weights menu: choosing other weights reloads the page with ?weights=. */
function weightsChoice(choice: WeightsChoice): void {
  const select = el<HTMLSelectElement>('weights-choice');
  select.replaceChildren(
    ...Object.entries(WEIGHTS).map(([key, w]) => new Option(w.label, key, key === choice, key === choice)),
  );
  select.addEventListener('change', () => {
    const params = new URLSearchParams(location.search);
    params.set('weights', select.value);
    location.search = params.toString();
  });
}

el<HTMLInputElement>('model-file').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length && !busy) void load(files);
});
livePanel(
  el('live'),
  () => model,
  () => blocks?.skipped() ?? [],
  (message) => setStatus(message, true),
);
// new labels: the image on show is classified again with them
teachPanel(
  el('teach'),
  () => model,
  () => void (current && exclusive(() => classifyNow(current!))),
);
void start();

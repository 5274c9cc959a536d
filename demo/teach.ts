/**
 * The Teach panel: new classes from the camera or from files, trained in the model's worker on the GPU.
 * Name a class, then hold its record button while the camera shows it (a frame every 150 ms, kept as a
 * small bitmap) or add image files; Train embeds every example and trains a softmax head on the pooled
 * features, drawing loss and accuracy per epoch as they come. From then on the camera view shows the new
 * top-1 and its class activation map over the frame, and the rest of the page classifies with the new
 * labels. Export writes the head-only file (kilobytes, over this page's base model); Import reads one
 * (or, with "ImageNet classes", the model goes back to its own classifier).
 * Test hooks: [data-testid=teach-*] (see demo/index.html), data-count on each class row, data-label and
 * data-probability on the live prediction, data-epochs on the chart, the export link's href (a blob URL),
 * data-trained (the labels) and data-error (the last error) on the panel.
 */
import { headToSafetensors, type EpochRecord, type Explanation, type Head } from '../src/browser.js';
import type { DemoModel } from './engine.js';
import { drawHeatmap } from './heatmap.js';
import { drawTrainingChart } from './teach-chart.js';

interface TeachClass {
  name: string;
  examples: ImageBitmap[];
  row: HTMLElement;
}

const RECORD_EVERY_MS = 150;
/** Recorded frames are kept with their shorter side this long (the model resizes to 256 then crops 224). */
const KEEP_SHORT_SIDE = 256;

export function teachPanel(root: HTMLElement, getModel: () => DemoModel | undefined, onLabels: () => void): void {
  new TeachPanel(root, getModel, onLabels).refresh();
}

class TeachPanel {
  private readonly classes: TeachClass[] = [];
  private readonly video: HTMLVideoElement;
  private readonly overlay: HTMLCanvasElement;
  private readonly prediction: HTMLElement;
  private stream: MediaStream | undefined;
  private head: Head | undefined;
  private busy = false;
  private inFlight = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly getModel: () => DemoModel | undefined,
    private readonly onLabels: () => void,
  ) {
    this.video = root.querySelector('video')!;
    this.overlay = this.$<HTMLCanvasElement>('overlay');
    this.prediction = this.$('prediction');
    this.$('camera').addEventListener('click', () => void this.toggleCamera());
    this.$<HTMLFormElement>('add').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = this.$<HTMLInputElement>('name');
      this.addClass(input.value);
      input.value = '';
    });
    this.$('train').addEventListener('click', () => void this.train());
    this.$<HTMLInputElement>('import').addEventListener(
      'change',
      (e) => void this.importHead(e.target as HTMLInputElement),
    );
    this.$('forget').addEventListener('click', () => void this.forget());
  }

  private $<T extends HTMLElement>(id: string): T {
    return this.root.querySelector<T>(`[data-testid=teach-${id}]`)!;
  }

  /** The panel's own status line; an error stays until the next message (and is in data-error). */
  private say(text: string, error = false): void {
    this.$('status').textContent = error ? `error: ${text}` : text;
    this.$('status').classList.toggle('error', error);
    if (error) this.root.dataset.error = text;
    else delete this.root.dataset.error;
  }

  private readonly onError = (err: unknown): void => this.say(err instanceof Error ? err.message : String(err), true);

  refresh(): void {
    for (const c of this.classes) {
      c.row.dataset.count = String(c.examples.length);
      c.row.querySelector('.count')!.textContent = `${c.examples.length} example${c.examples.length === 1 ? '' : 's'}`;
    }
    const ready = this.classes.filter((c) => c.examples.length > 0).length;
    this.$<HTMLButtonElement>('train').disabled = this.busy || ready < 2 || ready < this.classes.length;
    this.$<HTMLAnchorElement>('export').hidden = !this.head;
  }

  /** Records a frame every RECORD_EVERY_MS into the class until the pointer or key is released. */
  private record(target: TeachClass): void {
    const { video } = this;
    if (!this.stream || video.readyState < 2) {
      this.onError('start the camera first, then hold the button while it shows the class');
      return;
    }
    const scale = KEEP_SHORT_SIDE / Math.min(video.videoWidth, video.videoHeight);
    const grab = () =>
      void createImageBitmap(video, {
        resizeWidth: Math.round(video.videoWidth * scale),
        resizeHeight: Math.round(video.videoHeight * scale),
      }).then((b) => {
        target.examples.push(b);
        this.refresh();
      }, this.onError);
    grab();
    const timer = setInterval(grab, RECORD_EVERY_MS);
    const stop = () => {
      clearInterval(timer);
      removeEventListener('pointerup', stop);
      removeEventListener('keyup', stop);
    };
    addEventListener('pointerup', stop);
    addEventListener('keyup', stop);
  }

  private addClass(name: string): void {
    name = name.trim();
    if (!name) {
      this.onError('a class needs a name');
      return;
    }
    if (this.classes.some((c) => c.name === name)) {
      this.onError(`there is already a class named ${name}`);
      return;
    }
    const row = document.createElement('div');
    row.className = 'teach-class';
    row.dataset.testid = 'teach-class';
    row.dataset.label = name;
    row.innerHTML =
      '<b></b> <span class="count small"></span> <button type="button" class="record">hold to record</button> <label class="files">add files<input type="file" accept="image/*" multiple></label> <button type="button" class="link remove">remove</button>';
    row.querySelector('b')!.textContent = name;
    const c: TeachClass = { name, examples: [], row };
    const recordButton = row.querySelector<HTMLButtonElement>('.record')!;
    recordButton.addEventListener('pointerdown', () => this.record(c));
    recordButton.addEventListener('keydown', (e) => {
      if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) this.record(c);
    });
    row.querySelector<HTMLInputElement>('input')!.addEventListener('change', async (e) => {
      const input = e.target as HTMLInputElement;
      for (const file of [...(input.files ?? [])]) {
        await createImageBitmap(file).then(
          (b) => c.examples.push(b),
          () => this.onError(`cannot decode ${file.name} as an image; left out`),
        );
      }
      input.value = '';
      this.refresh();
    });
    row.querySelector('.remove')!.addEventListener('click', () => {
      for (const b of c.examples) b.close();
      this.classes.splice(this.classes.indexOf(c), 1);
      row.remove();
      this.refresh();
    });
    this.classes.push(c);
    this.$('classes').append(row);
    this.refresh();
  }

  private async train(): Promise<void> {
    const model = this.getModel();
    if (!model || this.busy) return;
    this.busy = true;
    this.refresh();
    const history: EpochRecord[] = [];
    const epochs = Math.max(1, Number(this.$<HTMLInputElement>('epochs').value) || 40);
    const total = this.classes.reduce((n, c) => n + c.examples.length, 0);
    try {
      // the model takes its bitmaps (to the worker); the panel keeps its own to train again later
      const examples = await Promise.all(
        this.classes.flatMap((c) =>
          c.examples.map(async (b) => ({ image: await createImageBitmap(b), label: c.name })),
        ),
      );
      this.say(`embedding ${total} examples…`);
      const fit = await model.train(examples, {
        epochs,
        validationSplit: total >= 5 * this.classes.length ? 0.2 : 0,
        onEmbedded: (done, all) => this.say(`embedding: ${done} / ${all}`),
        onEpoch: (e) => {
          history.push(e);
          drawTrainingChart(this.$<HTMLCanvasElement>('chart'), history, epochs);
          this.say(`epoch ${e.epoch}: loss ${e.loss.toFixed(3)}`);
        },
      });
      this.head = fit.head;
      const link = this.$<HTMLAnchorElement>('export');
      URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(
        new Blob([headToSafetensors(fit.head) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      );
      const validation = fit.validation
        ? `, validation accuracy ${(100 * fit.validation.accuracy).toFixed(0)}% of ${fit.validation.examples}`
        : '';
      this.say(
        `trained: ${fit.head.labels.join(', ')} (epoch ${fit.epoch} of ${fit.history.length}${validation}; embedding ${(fit.milliseconds.embedding / 1000).toFixed(1)} s, training ${(fit.milliseconds.training / 1000).toFixed(2)} s)`,
      );
      this.root.dataset.trained = fit.head.labels.join(',');
      this.onLabels();
    } catch (err) {
      this.onError(err);
    } finally {
      this.busy = false;
      this.refresh();
    }
  }

  /** One camera frame: the new top-1 and its map over the frame (one in flight; others dropped). */
  private readonly onFrame = (): void => {
    const { video } = this;
    if (!this.stream) return;
    video.requestVideoFrameCallback(this.onFrame);
    const model = this.getModel();
    if (!model || !this.root.dataset.trained || this.inFlight || this.busy || video.readyState < 2) return;
    this.inFlight = true;
    const frame = new VideoFrame(video);
    Promise.all([model.explainFrame(frame), createImageBitmap(video)])
      .then(([map, picture]: [Explanation, ImageBitmap]) => {
        drawHeatmap(this.overlay, picture, map, model.preprocessing);
        picture.close();
        this.overlay.hidden = false;
        this.prediction.dataset.label = map.label;
        this.prediction.dataset.probability = String(map.probability);
        this.prediction.textContent = `${map.label} ${(100 * map.probability).toFixed(1)}%`;
      }, this.onError)
      .finally(() => (this.inFlight = false));
  };

  private async toggleCamera(): Promise<void> {
    if (this.stream) {
      for (const t of this.stream.getTracks()) t.stop();
      this.stream = undefined;
      this.$('camera').textContent = 'Camera';
      return;
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (err) {
      return this.onError(`the camera could not be opened: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.video.srcObject = this.stream;
    await this.video.play();
    this.$('camera').textContent = 'Stop camera';
    this.video.requestVideoFrameCallback(this.onFrame);
  }

  private async importHead(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = '';
    const model = this.getModel();
    if (!file || !model) return;
    try {
      const labels = await model.useHead(new Uint8Array(await file.arrayBuffer()));
      this.head = undefined;
      this.root.dataset.trained = labels.join(',');
      this.say(`${file.name}: ${labels.join(', ')}`);
      this.onLabels();
    } catch (err) {
      this.onError(`${file.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.refresh();
  }

  private async forget(): Promise<void> {
    await this.getModel()?.useHead();
    delete this.root.dataset.trained;
    this.overlay.hidden = true;
    this.prediction.textContent = '';
    this.say('back to the ImageNet classes');
    this.onLabels();
  }
}

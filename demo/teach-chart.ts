/**
 * The Teach panel's chart, drawn again after each epoch: the training loss (scaled to its largest value so
 * far) and the accuracy on the training examples and on the validation split (0 to 100%), by epoch.
 * Test hook: data-epochs on the canvas.
 */
import type { EpochRecord } from '../src/browser.js';

const COLORS = { loss: '#d95f02', accuracy: '#2f6fed', validation: '#1b9e77' };

export function drawTrainingChart(canvas: HTMLCanvasElement, history: readonly EpochRecord[], epochs: number): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const pad = { left: 34, right: 10, top: 10, bottom: 22 };
  const x = (epoch: number) => pad.left + ((width - pad.left - pad.right) * (epoch - 1)) / Math.max(1, epochs - 1);
  const y = (v: number) => height - pad.bottom - (height - pad.top - pad.bottom) * v;
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#5c667a';
  ctx.strokeStyle = '#e6e9f2';
  for (const v of [0, 0.5, 1]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(width - pad.right, y(v));
    ctx.stroke();
    ctx.fillText(`${v * 100}%`, 2, y(v) + 4);
  }
  ctx.fillText(`epoch ${history.length} of at most ${epochs}`, pad.left, height - 6);
  const top = Math.max(...history.map((h) => h.loss), 1e-9);
  const line = (value: (h: EpochRecord) => number | undefined, color: string) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach((h, i) => {
      const v = value(h);
      if (v === undefined) return;
      if (i === 0) ctx.moveTo(x(h.epoch), y(v));
      else ctx.lineTo(x(h.epoch), y(v));
    });
    ctx.stroke();
    ctx.lineWidth = 1;
  };
  line((h) => h.loss / top, COLORS.loss);
  line((h) => h.accuracy, COLORS.accuracy);
  line((h) => h.validationAccuracy, COLORS.validation);
  const entries = [
    ['loss', COLORS.loss],
    ['train accuracy', COLORS.accuracy],
    ['validation accuracy', COLORS.validation],
  ] as const;
  // right-aligned: the entries' total width measured first, so the last one is never cut off
  let legend = width - 4 - entries.reduce((w, [name]) => w + ctx.measureText(name).width + 24, 0);
  for (const [name, color] of entries) {
    ctx.fillStyle = color;
    ctx.fillRect(legend, height - 14, 10, 4);
    ctx.fillStyle = '#5c667a';
    ctx.fillText(name, legend + 13, height - 9);
    legend += ctx.measureText(name).width + 24;
  }
  canvas.dataset.epochs = String(history.length);
}

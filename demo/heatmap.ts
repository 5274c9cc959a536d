/**
 * The class activation map of one class over the image the model saw (its center crop), drawn on a
 * canvas: the map upsampled (bilinear), scaled from its minimum to its maximum, Turbo colors at half
 * opacity. Test hook: [data-testid=heatmap] with data-class once drawn.
 */
import { turbo, upsampleMap, type Explanation, type Preprocessing } from '../src/browser.js';

export function drawHeatmap(canvas: HTMLCanvasElement, bitmap: ImageBitmap, explanation: Explanation, preprocessing: Preprocessing, size = 320): void {
  const scale = preprocessing.resizeTo / Math.min(bitmap.width, bitmap.height);
  const cropW = Math.min(bitmap.width, preprocessing.cropTo / scale);
  const cropH = Math.min(bitmap.height, preprocessing.cropTo / scale);
  canvas.width = size;
  canvas.height = Math.round((size * cropH) / cropW);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, (bitmap.width - cropW) / 2, (bitmap.height - cropH) / 2, cropW, cropH, 0, 0, canvas.width, canvas.height);
  const map = upsampleMap(explanation, canvas.width, canvas.height);
  let lo = Infinity, hi = -Infinity;
  for (const v of map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const photo = ctx.getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < map.length; i++) {
    const color = turbo(hi > lo ? (map[i]! - lo) / (hi - lo) : 0.5);
    for (let c = 0; c < 3; c++) photo.data[4 * i + c] = Math.round(0.5 * photo.data[4 * i + c]! + 0.5 * color[c]!);
  }
  ctx.putImageData(photo, 0, 0);
  canvas.dataset.class = String(explanation.classIndex);
  canvas.title = `where the network looks for ${explanation.label.replace(/_/g, ' ')} (class activation map, ${explanation.height}x${explanation.width})`;
}

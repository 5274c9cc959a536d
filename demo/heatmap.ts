/**
 * The class activation map of one class over the image the model saw (its center crop), drawn on a
 * canvas: the map upsampled (bilinear), scaled from its minimum to its maximum, Turbo colors at half
 * opacity. Test hook: [data-testid=heatmap] with data-class once drawn.
 */
import { blendMap, mapRegion, type Explanation, type Preprocessing } from '../src/browser.js';

export function drawHeatmap(
  canvas: HTMLCanvasElement,
  bitmap: ImageBitmap,
  explanation: Explanation,
  preprocessing: Preprocessing,
  size = 320,
): void {
  const crop = mapRegion(bitmap.width, bitmap.height, preprocessing);
  canvas.width = size;
  canvas.height = Math.round((size * crop.height) / crop.width);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, crop.left, crop.top, crop.width, crop.height, 0, 0, canvas.width, canvas.height);
  const photo = ctx.getImageData(0, 0, canvas.width, canvas.height);
  blendMap(photo.data, 4, canvas.width, canvas.height, explanation);
  ctx.putImageData(photo, 0, 0);
  canvas.dataset.class = String(explanation.classIndex);
  canvas.title = `where the network looks for ${explanation.label.replace(/_/g, ' ')} (class activation map, ${explanation.height}x${explanation.width})`;
}

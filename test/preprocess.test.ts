/** CPU preprocessing: resize (shorter side 256), center crop 224, caffe normalization, channel handling. */
import { describe, expect, it } from 'vitest';
import { CAFFE_PREPROCESSING, TORCH_PREPROCESSING, cropOrigin, preprocessImage, resizedSize, type RawImage } from '../src/preprocess/preprocess.js';

function image(width: number, height: number, channels: 1 | 2 | 3 | 4, f: (x: number, y: number, c: number) => number): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { data, width, height, channels };
}

describe('preprocessing', () => {
  it('sizes: shorter side to 256, aspect kept; crop centered', () => {
    expect(resizedSize(342, 256, 256)).toEqual([342, 256]);
    expect(resizedSize(500, 375, 256)).toEqual([341, 256]);
    expect(resizedSize(100, 200, 256)).toEqual([256, 512]);
    expect(cropOrigin(342, 256, 224)).toEqual([59, 16]);
  });

  it('an image whose shorter side is already 256 is only cropped: exact pixels, BGR, caffe means', () => {
    const img = image(300, 256, 3, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256);
    const out = preprocessImage(img, CAFFE_PREPROCESSING);
    const [cx, cy] = cropOrigin(300, 256, 224);
    for (const [x, y] of [[0, 0], [5, 9], [223, 223], [100, 17]] as const) {
      const src = (c: number) => img.data[((y + cy) * 300 + (x + cx)) * 3 + c]!;
      const o = (y * 224 + x) * 3;
      expect(out[o]).toBeCloseTo(src(2) - 103.939, 4); // B
      expect(out[o + 1]).toBeCloseTo(src(1) - 116.779, 4); // G
      expect(out[o + 2]).toBeCloseTo(src(0) - 123.68, 4); // R
    }
  });

  it('grayscale is replicated, alpha is dropped', () => {
    const gray = image(256, 256, 1, (x, y) => (x + y) % 256);
    const rgb = image(256, 256, 3, (x, y) => (x + y) % 256);
    const rgba = image(256, 256, 4, (x, y, c) => (c === 3 ? 17 : (x + y) % 256));
    const a = preprocessImage(gray, CAFFE_PREPROCESSING);
    expect(Array.from(preprocessImage(rgb, CAFFE_PREPROCESSING))).toEqual(Array.from(a));
    expect(Array.from(preprocessImage(rgba, CAFFE_PREPROCESSING))).toEqual(Array.from(a));
  });

  it('shrinking averages (antialiased) and a constant image stays constant at any size', () => {
    const flat = image(1000, 700, 3, (_x, _y, c) => 10 + c);
    const out = preprocessImage(flat, TORCH_PREPROCESSING);
    for (let i = 0; i < out.length; i += 3) {
      expect(out[i]).toBeCloseTo((10 / 255 - 0.485) / 0.229, 5);
      expect(out[i + 2]).toBeCloseTo((12 / 255 - 0.406) / 0.225, 5);
    }
    // a 1-pixel checkerboard shrunk 4x averages to mid-gray instead of aliasing
    const checker = image(1024, 1024, 3, (x, y) => ((x + y) % 2 ? 255 : 0));
    const small = preprocessImage(checker, { ...CAFFE_PREPROCESSING, mean: [0, 0, 0] });
    for (let i = 0; i < small.length; i += 97) expect(Math.abs(small[i]! - 127.5)).toBeLessThan(2);
  });

  it('upscales a tiny image without error', () => {
    const out = preprocessImage(image(3, 2, 3, () => 200), CAFFE_PREPROCESSING);
    expect(out.length).toBe(224 * 224 * 3);
    expect(out[0]).toBeCloseTo(200 - 103.939, 3);
  });
});

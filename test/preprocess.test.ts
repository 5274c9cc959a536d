/** CPU preprocessing: resize (shorter side 256), center crop 224, caffe normalization, channel handling. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CAFFE_PREPROCESSING,
  TORCH_PREPROCESSING,
  cropOrigin,
  preprocessImage,
  resizedSize,
  type RawImage,
} from '../src/preprocess/preprocess.js';
import { checkAugment, planViews } from '../src/train/augment.js';
import { InputError } from '../src/errors.js';

function image(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  f: (x: number, y: number, c: number) => number,
): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { data, width, height, channels };
}

interface PilCase {
  width: number;
  height: number;
  resize: number;
  crop: number;
  interpolation: 'bilinear' | 'bicubic';
  /** base64 of the crop's bytes, RGB. */
  pixels: string;
}
const pil: { pillow: string; cases: PilCase[] } = JSON.parse(
  readFileSync(new URL('./fixtures/resize-pil.json', import.meta.url), 'utf8'),
);
/** The engine's resize differs from Pillow's 8-bit one by its rounding (Pillow rounds and clips after each pass). */
const PIL_BOUND = { max: 1.1, mean: 0.35 };

describe('preprocessing', () => {
  it("resizes as Pillow's antialiased bilinear and bicubic do (scripts/resize-pil.py), within its 8-bit rounding", () => {
    const rows: string[] = [];
    const checks: Array<[number, number, string]> = [];
    for (const c of pil.cases) {
      const img = image(c.width, c.height, 3, (x, y, ch) => (x * 7 + y * 13 + ch * 50 + ((x * y) % 31)) % 256);
      const spec = {
        ...TORCH_PREPROCESSING,
        resizeTo: c.resize,
        cropTo: c.crop,
        scale: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
      };
      const got = preprocessImage(img, { ...spec, interpolation: c.interpolation } as typeof TORCH_PREPROCESSING);
      const want = Buffer.from(c.pixels, 'base64');
      // the filter matters: the other one is further from Pillow than the bound
      const other = c.interpolation === 'bicubic' ? 'bilinear' : 'bicubic';
      const wrong = preprocessImage(img, { ...spec, interpolation: other } as typeof TORCH_PREPROCESSING);
      expect(Math.max(...want.map((v, i) => Math.abs(wrong[i]! - v)))).toBeGreaterThan(PIL_BOUND.max);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        max = Math.max(max, d);
        sum += d;
      }
      rows.push(
        `| ${c.width}x${c.height} -> ${c.resize}, crop ${c.crop} | ${c.interpolation} | ${max.toFixed(2)} | ${(sum / want.length).toFixed(3)} |`,
      );
      checks.push([max, sum / want.length, `${c.interpolation} ${c.width}x${c.height}`]);
    }
    console.log(
      `Pillow ${pil.pillow} vs the engine's CPU resize, in 8-bit levels:\n| image | filter | max | mean |\n| --- | --- | --- | --- |\n${rows.join('\n')}`,
    );
    for (const [max, mean, what] of checks) {
      expect(max, what).toBeLessThanOrEqual(PIL_BOUND.max);
      expect(mean, what).toBeLessThanOrEqual(PIL_BOUND.mean);
    }
  });

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
    for (const [x, y] of [
      [0, 0],
      [5, 9],
      [223, 223],
      [100, 17],
    ] as const) {
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
    const out = preprocessImage(
      image(3, 2, 3, () => 200),
      CAFFE_PREPROCESSING,
    );
    expect(out.length).toBe(224 * 224 * 3);
    expect(out[0]).toBeCloseTo(200 - 103.939, 3);
  });

  it('a view: a crop anywhere in the resized image, mirrored or not (training augmentation)', () => {
    const img = image(300, 256, 3, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256);
    const spec = { ...CAFFE_PREPROCESSING, mean: [0, 0, 0] as [number, number, number] };
    // corners: origin 0 and the last origin the image leaves (300 - 224 = 76, 256 - 224 = 32); no resampling, so exact pixels
    expect(cropOrigin(300, 256, 224, { at: [0, 1], flip: false })).toEqual([0, 32]);
    expect(cropOrigin(300, 256, 224, { at: [1, 0], flip: false })).toEqual([76, 0]);
    const corner = preprocessImage(img, spec, undefined, 0, { at: [1, 0.25], flip: true });
    for (const [x, y] of [
      [0, 0],
      [17, 40],
      [223, 223],
    ] as const) {
      const src = img.data[((y + 8) * 300 + (76 + 223 - x)) * 3]!; // mirrored: output column x shows the crop's column 223 - x
      expect(corner[(y * 224 + x) * 3 + 2]).toBe(src); // R (BGR order)
    }
    // a mirrored center crop of an image whose margins are even is the center crop of the mirrored image, also when resampled
    const big = image(600, 480, 3, (x, y, c) => (x * x + 3 * y + 40 * c) % 251); // resized 320 x 256: margins 96 and 32
    const mirrored = image(600, 480, 3, (x, y, c) => big.data[(y * 600 + 599 - x) * 3 + c]!);
    const a = preprocessImage(big, TORCH_PREPROCESSING, undefined, 0, { at: [0.5, 0.5], flip: true });
    const b = preprocessImage(mirrored, TORCH_PREPROCESSING);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
    expect(() => cropOrigin(300, 256, 224, { at: [1.5, 0], flip: false })).toThrow(InputError);
  });

  it('augmentation views: seeded, as many as asked, only what was asked for; bad options named', () => {
    const views = planViews([3, 5], { copies: 4 }, 7);
    expect(views.map((v) => v.example)).toEqual([3, 3, 3, 3, 5, 5, 5, 5]);
    expect(planViews([3, 5], { copies: 4 }, 7)).toEqual(views);
    expect(planViews([3, 5], { copies: 4 }, 8)).not.toEqual(views);
    expect(new Set(views.map((v) => v.view.at.join())).size).toBe(8);
    const flips = planViews([1], { copies: 3, crop: false }, 1);
    expect(flips.map((v) => [v.view.at, v.view.flip])).toEqual([
      [[0.5, 0.5], true],
      [[0.5, 0.5], false],
      [[0.5, 0.5], true],
    ]);
    expect(planViews([1, 2], { copies: 2, flip: false }, 1).every((v) => !v.view.flip)).toBe(true);
    expect(() => checkAugment({ copies: 0 })).toThrow(/augment.copies must be an integer from 1 to 16, got 0/);
    expect(() => checkAugment({ copies: 2, flip: false, crop: false })).toThrow(/neither flip nor crop/);
    expect(() => checkAugment(3 as never)).toThrow(InputError);
  });
});

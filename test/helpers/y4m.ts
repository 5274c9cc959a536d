/** A .y4m video (Chromium's fake camera reads one) made of one photo repeated: BT.601 limited-range I420. */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';

export async function photoToY4m(
  photo: string,
  out: string,
  width = 320,
  frames = 10,
): Promise<{ width: number; height: number }> {
  const meta = await sharp(photo).metadata();
  const height = 2 * Math.round((width * meta.height!) / meta.width! / 2);
  const rgb = await sharp(photo).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc((width / 2) * (height / 2));
  const v = Buffer.alloc((width / 2) * (height / 2));
  const px = (i: number) => [rgb[3 * i]! / 255, rgb[3 * i + 1]! / 255, rgb[3 * i + 2]! / 255] as const;
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = px(i);
    y[i] = Math.round(16 + 65.481 * r + 128.553 * g + 24.966 * b);
  }
  for (let cy = 0; cy < height / 2; cy++)
    for (let cx = 0; cx < width / 2; cx++) {
      let r = 0,
        g = 0,
        b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ] as const) {
        const [pr, pg, pb] = px((2 * cy + dy) * width + 2 * cx + dx);
        r += pr / 4;
        g += pg / 4;
        b += pb / 4;
      }
      u[cy * (width / 2) + cx] = Math.round(128 - 37.797 * r - 74.203 * g + 112 * b);
      v[cy * (width / 2) + cx] = Math.round(128 + 112 * r - 93.786 * g - 18.214 * b);
    }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, u, v]);
  await writeFile(
    out,
    Buffer.concat([
      Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`),
      ...Array<Buffer>(frames).fill(frame),
    ]),
  );
  return { width, height };
}

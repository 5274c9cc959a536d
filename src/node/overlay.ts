/**
 * A class activation map drawn over the photo it explains, as a PNG: the part of the photo the model
 * sees (its center crop), with the map upsampled to it (bilinear), scaled from its minimum to its
 * maximum, colored with Turbo (Google's perceptual rainbow, polynomial fit) and blended at half opacity.
 */
import { blendMap, mapRegion, type Explanation } from '../api/explain.js';
import type { Preprocessing } from '../preprocess/preprocess.js';
import { decodeImage, loadSharp } from './image.js';

/** The PNG bytes of `explanation` over `image` (a path or file bytes), at most `size` pixels on a side. */
export async function overlayPng(
  image: string | Uint8Array,
  explanation: Explanation,
  preprocessing: Preprocessing,
  size = 448,
): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const { data, width, height, channels } = await decodeImage(image);
  // the center crop the model saw, in the photo's own pixels
  const region = mapRegion(width, height, preprocessing);
  const cropW = Math.min(width, Math.round(region.width));
  const cropH = Math.min(height, Math.round(region.height));
  const side = Math.min(size, cropW, cropH);
  const [outW, outH] =
    cropW >= cropH ? [Math.round((side * cropW) / cropH), side] : [side, Math.round((side * cropH) / cropW)];
  const photo = await sharp(Buffer.from(data.buffer, data.byteOffset, data.length), {
    raw: { width, height, channels: channels as 1 | 2 | 3 | 4 },
  })
    .extract({
      left: Math.floor((width - cropW) / 2),
      top: Math.floor((height - cropH) / 2),
      width: cropW,
      height: cropH,
    })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(outW, outH)
    .raw()
    .toBuffer();
  const rgb = Buffer.alloc(outW * outH * 3);
  const per = photo.length / (outW * outH);
  for (let i = 0; i < outW * outH; i++)
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = photo[per * i + (per >= 3 ? c : 0)]!;
  blendMap(rgb, 3, outW, outH, explanation);
  return new Uint8Array(
    await sharp(rgb, { raw: { width: outW, height: outH, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

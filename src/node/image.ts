import { stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { importPeer } from './optional.js';
import type { RawImage } from '../preprocess/preprocess.js';

/** Largest image the Node decoder accepts, in pixels (about 16k x 16k); larger files are refused before decoding. */
const MAX_IMAGE_PIXELS = 268_402_689;

/** sharp, loaded on first use: the engine itself needs no image codec. */
export const loadSharp = async () =>
  (await importPeer('sharp', 'decoding image files in Node', () => import('sharp'))).default;

/** Decodes a JPEG, PNG, WebP, GIF, TIFF or AVIF file (path or bytes) into 8-bit pixels, EXIF orientation applied. */
export async function decodeImage(source: string | Uint8Array): Promise<RawImage> {
  const name = typeof source === 'string' ? source : `image buffer (${source.length} bytes)`;
  const size =
    typeof source === 'string'
      ? await stat(source).then(
          (st) => st.size,
          () => -1,
        )
      : source.length;
  if (size === 0) throw new InputError(`${name}: empty, not an image`);
  const sharp = await loadSharp();
  try {
    // failOn: corrupt data is an error, not garbage pixels
    const { data, info } = await sharp(source, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'warning' })
      .rotate()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels;
    if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
      throw new InputError(`${name}: decoded to ${channels} channels, expected 1 to 4`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels,
    };
  } catch (err) {
    if (err instanceof InputError) throw err;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new InputError(`${name}: cannot decode image: ${reason}`, { cause: err });
  }
}

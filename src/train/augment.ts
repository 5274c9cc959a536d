/**
 * Augmentation for training a head: more views of each training image (a random crop of the resized
 * image and a mirror, from the fit's seed), each embedded by the engine as an example of its own (on the
 * GPU preprocessing path where the image is a texture, else on the CPU's), so the head sees each photo
 * framed and turned a few ways. Only the training split's images get views: validation stays the photos
 * as they are.
 */
import type { AugmentOptions } from '../api/training.js';
import { InputError } from '../errors.js';
import { CENTER_VIEW, type CropView } from '../preprocess/preprocess.js';
import { random } from '../util/random.js';

/** One view to embed: example `example` (an index into the trainer's examples) seen through `view`. */
export interface PlannedView {
  example: number;
  view: CropView;
}

export function checkAugment(augment: AugmentOptions | undefined): void {
  if (augment === undefined) return;
  if (typeof augment !== 'object' || augment === null)
    throw new InputError(`augment must be an object such as { copies: 2 }, got ${JSON.stringify(augment)}`);
  const { copies, flip = true, crop = true } = augment;
  if (!(Number.isInteger(copies) && copies >= 1 && copies <= 16))
    throw new InputError(`augment.copies must be an integer from 1 to 16, got ${JSON.stringify(copies)}`);
  if (typeof flip !== 'boolean' || typeof crop !== 'boolean')
    throw new InputError('augment.flip and augment.crop must be true or false');
  if (!flip && !crop)
    throw new InputError('augment with neither flip nor crop would only repeat each image: set one of them');
}

/** `copies` views of each of `examples` (training images), drawn from `seed`: the same seed, the same views. */
export function planViews(examples: Iterable<number>, augment: AugmentOptions, seed: number): PlannedView[] {
  const { copies, flip = true, crop = true } = augment;
  const next = random((seed ^ 0x5bd1e995) >>> 0);
  const views: PlannedView[] = [];
  for (const example of examples) {
    for (let k = 0; k < copies; k++) {
      const at: [number, number] = crop ? [next(), next()] : [...CENTER_VIEW.at];
      views.push({ example, view: { at, flip: flip && (crop ? next() < 0.5 : k % 2 === 0) } });
    }
  }
  return views;
}

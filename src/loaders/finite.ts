/** Every weight a loader hands on must be finite: one NaN or infinity turns every output into NaN. */
import { ModelFormatError } from '../errors.js';
import { firstNonFinite } from '../util/vectors.js';

/**
 * `values` (one tensor of a weights file, decoded to float32), or a ModelFormatError naming the tensor and
 * the first NaN/Infinity in it. Checked once per tensor at load (docs/results.md, "Load").
 */
export function finiteTensor(values: Float32Array, where: string, tensor: string): Float32Array {
  const i = firstNonFinite(values);
  if (i < 0) return values;
  throw new ModelFormatError(
    `${where}: tensor ${tensor} holds ${values[i]} at index ${i} of ${values.length}; every weight must be finite ` +
      `(the file is damaged, or was saved from a model whose training diverged)`,
  );
}

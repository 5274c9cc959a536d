/**
 * The preprocessing a weights file names for itself: `caffe` or `torch` (the two the engine ships), or a
 * JSON Preprocessing object (what `convert` writes). Read from a compact safetensors file's
 * `__metadata__` and from an ONNX file's `metadata_props`, key `preprocessing`.
 */
import { ModelFormatError } from '../errors.js';
import { namedPreprocessing, type Preprocessing } from '../preprocess/preprocess.js';

export function parsePreprocessing(value: string, where: string): Preprocessing {
  const named = namedPreprocessing(value);
  if (named) return named;
  let p: Record<string, unknown> | undefined;
  try {
    p = JSON.parse(value) as Record<string, unknown>;
  } catch {
    // reported below
  }
  const triple = (v: unknown) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const ok =
    p &&
    typeof p === 'object' &&
    [p.resizeTo, p.cropTo, p.scale].every((v) => typeof v === 'number' && v > 0) &&
    (p.order === 'RGB' || p.order === 'BGR') &&
    triple(p.mean) &&
    triple(p.std) &&
    (p.interpolation === undefined || p.interpolation === 'bilinear' || p.interpolation === 'bicubic') &&
    (p.cropPct === undefined || (typeof p.cropPct === 'number' && p.cropPct > 0 && p.cropPct <= 1));
  if (!ok)
    throw new ModelFormatError(
      `${where}: preprocessing ${JSON.stringify(value.slice(0, 80))} is not caffe, torch or a JSON object with ` +
        `resizeTo, cropTo, scale (> 0), order (RGB or BGR), mean and std (3 numbers each), interpolation (bilinear ` +
        `or bicubic, optional), cropPct (in (0, 1], optional)`,
    );
  return p as unknown as Preprocessing;
}

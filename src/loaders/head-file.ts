/**
 * Head-only files (`webgpu-resnet train --head-only`, src/export/head-file.ts writes them): a safetensors
 * file with fc.weight [classes][features] (PyTorch's layout), fc.bias, and the labels in its metadata.
 */
import { ModelFormatError } from '../errors.js';
import { checkHead, type Head } from '../graph/head.js';
import { permute, TRANSPOSE } from '../util/layout.js';
import { HEAD_FORMAT, SafetensorsFile } from './safetensors.js';

/** Whether safetensors bytes are a head-only file (its metadata says so). */
export function isHeadFile(file: SafetensorsFile): boolean {
  return file.metadata.format === HEAD_FORMAT;
}

/** The head of a head-only file. */
export function headFromSafetensors(bytes: Uint8Array, where: string): Head {
  const file = new SafetensorsFile(bytes, where);
  if (!isHeadFile(file)) {
    const format = JSON.stringify(file.metadata.format);
    throw new ModelFormatError(`${where}: not a head file (its __metadata__ format is ${format}, not ${HEAD_FORMAT})`);
  }
  let labels: unknown;
  try {
    labels = JSON.parse(file.metadata.labels ?? '');
  } catch {
    throw new ModelFormatError(`${where}: __metadata__ labels is not valid JSON`);
  }
  const bias = file.get('fc.bias');
  if (!Array.isArray(labels) || labels.length !== bias.length) {
    throw new ModelFormatError(`${where}: __metadata__ labels must be a JSON array of ${bias.length} strings`);
  }
  const f = Number(file.metadata.features);
  const weights = permute(file.get('fc.weight', [bias.length, f]), [bias.length, f], TRANSPOSE);
  try {
    return checkHead({ labels: labels as string[], weights, bias });
  } catch (err) {
    throw new ModelFormatError(`${where}: ${(err as Error).message}`);
  }
}

/** A head-only file (src/loaders/head-file.ts reads it): fc.weight [classes][features] (PyTorch's layout), fc.bias,
 * the labels. */
import { checkHead, type Head, headFeatures } from '../graph/head.js';
import { HEAD_FORMAT } from '../loaders/safetensors.js';
import { permute, TRANSPOSE } from '../util/layout.js';
import { writeSafetensors } from './safetensors.js';

export function headToSafetensors(head: Head, base?: string): Uint8Array {
  checkHead(head);
  const c = head.labels.length;
  const f = headFeatures(head);
  const tensors = [
    { name: 'fc.weight', shape: [c, f], data: permute(head.weights, [f, c], TRANSPOSE) },
    { name: 'fc.bias', shape: [c], data: head.bias },
  ];
  return writeSafetensors(tensors, {
    format: HEAD_FORMAT,
    labels: JSON.stringify(head.labels),
    features: String(f),
    ...(base && { base }),
  });
}

/**
 * The ResNet-family fixture (test/fixtures/family-golden.json, scripts/family-torch.py): networks timm and
 * torchvision built, their state_dicts' names and shapes, float64 logits on the golden input; and the
 * state_dicts rebuilt from it with the golden generator.
 */
import { readFileSync } from 'node:fs';
import { generate, goldenInput } from '../../scripts/golden-model.js';
import { writeSafetensors } from '../../src/export/safetensors.js';

export interface FamilyModel {
  built: string;
  block: 'basic' | 'bottleneck';
  params: Array<[string, number[]]>;
  logits: number[][];
  top5: number[][];
  /** Logits with residual blocks deleted (y = relu(shortcut(x))), by the blocks' names joined with commas. */
  lesions?: Record<string, number[][]>;
  /** The pooled features (the global average pool's output), where recorded. */
  features?: number[][];
}
export const fixture: {
  input: number[];
  models: Record<string, FamilyModel>;
  /** Members the engine refuses: their state_dict names and shapes. */
  refused: Record<string, Array<[string, number[]]>>;
} = JSON.parse(readFileSync(new URL('../fixtures/family-golden.json', import.meta.url), 'utf8'));
export const size = fixture.input[2]!;
export const input = goldenInput(size);

/**
 * The state_dict timm or torchvision had, rebuilt: same names, shapes and generated values (zeros with `zeros`:
 * a refused member's file, whose values are never read and whose norms may have no generator rule).
 */
export function stateDict(model: Pick<FamilyModel, 'block' | 'params'>, zeros = false): Uint8Array {
  const last = model.block === 'bottleneck' ? '.bn3.' : '.bn2.';
  const tensors = model.params.map(([name, shape]) => ({
    name,
    shape,
    data: zeros
      ? new Float32Array(shape.reduce((a, b) => a * b, 1))
      : generate(name, shape, name.startsWith('layer') && name.includes(last)),
  }));
  return writeSafetensors(tensors, { format: 'pt' });
}

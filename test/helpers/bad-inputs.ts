/**
 * The bench of the bad-input tests (test/bad-inputs.test.ts, test/bad-files.test.ts): the pretrained model
 * loaded once per file, `refused` (an error of exactly the expected class naming the problem, then the same
 * model still classifies a photo exactly as before), the record of every refusal, and the broken files' makers.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, expect } from 'vitest';
import { ResNetError, type ResNetModel } from '../../src/index.js';
import type { InMemoryModel } from '../../src/loaders/formats.js';
import { defaultModelPath, loadResNet, type NodeImage } from '../../src/node.js';
import { goldenModel } from '../../scripts/golden-model.js';
import { writeSafetensors } from '../../src/export/safetensors.js';
import { sharedPath } from './needs.js';

export const husky = join(sharedPath('data', 'imagenet-sample'), '250_n02110185_Siberian_husky.JPEG');
export const r18 = goldenModel(18);

type KerasFiles = InMemoryModel & {
  modelJson: {
    modelTopology: { model_config: { config: { layers: Array<{ class_name: string; name: string }> } } };
    weightsManifest: Array<{ paths: string[] }>;
  };
};

export interface BadInputs {
  /** The pretrained ResNet-50, loaded once for the file. */
  model: ResNetModel<NodeImage>;
  /** The husky photo preprocessed, and the model's probabilities for it. */
  huskyInput: Float32Array;
  huskyProbs: Float32Array;
  /** The Keras model's files in memory. */
  keras: KerasFiles;
  /** A temporary folder, removed after the file. */
  work: string;
}

/** Loads the model before the file's tests, disposes of it after them, and prints the record of refusals. */
export function useBadInputs() {
  const ctx = {} as BadInputs;
  const seen: string[] = [];
  const classes = new Map<string, number>();
  beforeAll(async () => {
    ctx.model = await loadResNet();
    ctx.huskyInput = await ctx.model.preprocess(husky);
    ctx.huskyProbs = await ctx.model.infer(ctx.huskyInput);
    ctx.work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-bad-'));
    const path = defaultModelPath();
    const modelJson = JSON.parse(await readFile(path, 'utf8'));
    const weights: Record<string, Uint8Array> = {};
    for (const p of modelJson.weightsManifest.flatMap((g: { paths: string[] }) => g.paths))
      weights[p] = new Uint8Array(await readFile(join(dirname(path), p)));
    ctx.keras = { modelJson, weights } as KerasFiles;
  });
  afterAll(async () => {
    // each test stands alone (refused() checks the exact class and that the model still works); this is the record
    const byClass = [...classes].map(([name, n]) => `${name} ${n}`).join(', ');
    console.log(`${seen.length} refusals, each followed by an unchanged classification; by class: ${byClass}`);
    console.log(seen.join('\n'));
    ctx.model?.dispose();
    if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
  });

  /** The model still gives the husky photo the very same probabilities. */
  async function stillWorks(): Promise<void> {
    const probs = await ctx.model.infer(ctx.huskyInput);
    let diff = 0;
    for (let i = 0; i < probs.length; i++) diff = Math.max(diff, Math.abs(probs[i]! - ctx.huskyProbs[i]!));
    expect(diff).toBeLessThan(1e-6);
  }

  /**
   * `action` must reject with an error of exactly the class `type` (not merely a subclass or a parent) whose
   * message matches `message`; then the model must still work.
   */
  async function refused(
    action: () => Promise<unknown>,
    type: new (...a: never[]) => Error,
    message: RegExp | string,
  ): Promise<void> {
    const err = await action().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'no error was thrown').toBeInstanceOf(type);
    expect((err as Error).constructor, `${(err as Error).name}: ${(err as Error).message}`).toBe(type);
    expect(err).toBeInstanceOf(ResNetError);
    if (typeof message === 'string') expect((err as Error).message).toContain(message);
    else expect((err as Error).message).toMatch(message);
    seen.push(`${(err as Error).name}: ${(err as Error).message.replaceAll(ctx.work, '<tmp>')}`);
    classes.set((err as Error).name, (classes.get((err as Error).name) ?? 0) + 1);
    await stillWorks();
  }

  /** Writes a file named `name` in the temporary folder; its path. */
  const file = async (name: string, bytes: Uint8Array | string) => {
    const p = join(ctx.work, name);
    await writeFile(p, bytes);
    return p;
  };

  /** A copy of the Keras model with model.json (as an object) and shards changed by `edit`. */
  function kerasWith(
    edit: (m: { modelJson: KerasFiles['modelJson']; weights: Record<string, Uint8Array | string> }) => void,
  ): InMemoryModel {
    const copy = {
      modelJson: structuredClone(ctx.keras.modelJson),
      weights: { ...ctx.keras.weights } as Record<string, Uint8Array | string>,
    };
    edit(copy);
    return copy as InMemoryModel;
  }

  return { ctx, refused, stillWorks, file, kerasWith };
}

/** A safetensors file of ResNet-18 whose header `edit` changes (data section kept). */
export function safetensorsWith(
  edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void,
): Uint8Array {
  const good = writeSafetensors(r18.params);
  const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
  edit(header);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + good.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(good.subarray(8 + n), 8 + text.length);
  return out;
}

/** A PNG whose IHDR claims `width` x `height` (CRC fixed), made from a real 1x1 PNG. */
export async function pngClaiming(width: number, height: number): Promise<Uint8Array> {
  const sharp = (await import('sharp')).default;
  const png = new Uint8Array(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width); // IHDR data starts at 16: width, height
  view.setUint32(20, height);
  view.setUint32(29, crc32(png.subarray(12, 29))); // CRC over "IHDR" + 13 data bytes
  return png;
}

/**
 * A run of `batch` images in chunks the device takes: a batch too large for one binding or buffer runs as
 * several (each chunk's output read back into its place, or copied into its place in the caller's buffer).
 * Every input value must be finite: checked on the CPU while the GPU runs where the batch is one chunk.
 */
import { InputError } from '../errors.js';
import type { Variant } from '../plan/plan-cache.js';
import type { Executor, OutputKind, OutputTarget } from '../runtime/executor.js';
import { firstNonFinite } from '../util/vectors.js';
import { finiteOutput } from './checks.js';

/** The images to run: NHWC values (`given` as the caller passed them, for its messages), and values per image in and
 * out. */
export interface ChunkedInput {
  nhwc: Float32Array;
  given: Float32Array;
  batch: number;
  perImage: number;
  perOutput: number;
}

export async function runInChunks(
  executor: Executor,
  input: ChunkedInput,
  options: { output: OutputKind; variant: Variant; into?: OutputTarget },
): Promise<Float32Array | undefined> {
  const { nhwc, given, batch, perImage: per, perOutput: perOut } = input;
  const { output, variant, into } = options;
  const nonFinite = () => {
    const i = firstNonFinite(given);
    if (i >= 0) throw new InputError(`input[${i}] is ${given[i]}: every value must be finite`);
  };
  // 0: not even one image fits, and the run reports which tensor is too large
  const chunk = executor.largestBatch(batch, variant) || batch;
  const images = (b0: number) => nhwc.subarray(b0 * per, (b0 + Math.min(chunk, batch - b0)) * per);
  const count = (b0: number) => Math.min(chunk, batch - b0);
  if (into) {
    nonFinite();
    for (let b0 = 0; b0 < batch; b0 += chunk) {
      const target = { buffer: into.buffer, offset: (into.offset ?? 0) + b0 * perOut * 4 };
      await executor.run(images(b0), count(b0), { output, variant, into: target });
    }
    return undefined;
  }
  if (chunk >= batch) {
    return finiteOutput(await executor.run(nhwc, batch, { output, variant, whileRunning: nonFinite }), output, perOut);
  }
  nonFinite();
  const out = new Float32Array(batch * perOut);
  const runs: Array<Promise<void>> = [];
  for (let b0 = 0; b0 < batch; b0 += chunk) {
    runs.push(executor.run(images(b0), count(b0), { output, variant }).then((r) => out.set(r, b0 * perOut)));
  }
  await Promise.all(runs);
  return finiteOutput(out, output, perOut);
}

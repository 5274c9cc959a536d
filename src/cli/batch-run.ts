/**
 * Runs a model over many images in batches: images are decoded and preprocessed (a file that cannot be
 * read becomes an error item, the rest of its batch still runs), then one inference per batch. Results
 * go out as they arrive, to stdout or to a JSON Lines file that `--resume` continues; a progress line
 * with images/s and the time left is drawn on stderr when it is a terminal.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { ResNetModel } from '../api/model.js';
import type { NodeImage } from '../node.js';
import { bar } from './progress.js';

export interface RunItem {
  file: string;
  /** The output row (probabilities or features) of this image. */
  values?: Float32Array;
  error?: string;
}

export interface BatchOptions {
  batch: number;
  output: 'probabilities' | 'features';
  skipBlocks?: string[];
}

/** The images of `files` in batches of `batch`, each batch's items in order. */
export async function* inBatches(
  model: ResNetModel<NodeImage>,
  files: string[],
  options: BatchOptions,
): AsyncGenerator<RunItem[]> {
  const per = model.info.inputShape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < files.length; i += options.batch) {
    const group = files.slice(i, i + options.batch);
    const inputs = await Promise.all(
      group.map((file) =>
        model.preprocess(file).then(
          (x) => ({ file, x }),
          (err: Error) => ({ file, error: err.message.replace(/\s*\n\s*/g, ' ') }),
        ),
      ),
    );
    const good = inputs.filter((r): r is { file: string; x: Float32Array } => 'x' in r);
    const items = new Map<string, RunItem>(
      inputs.map((r) => [r.file, 'error' in r ? { file: r.file, error: r.error } : { file: r.file }]),
    );
    if (good.length) {
      const input = new Float32Array(good.length * per);
      for (const [j, r] of good.entries()) input.set(r.x, j * per);
      const out = await model.infer(input, {
        batch: good.length,
        output: options.output,
        skipBlocks: options.skipBlocks,
      });
      const width = out.length / good.length;
      for (const [j, r] of good.entries()) items.get(r.file)!.values = out.subarray(j * width, (j + 1) * width);
    }
    yield group.map((f) => items.get(f)!);
  }
}

/** A JSON Lines output file. With `resume`, the files it already has are returned and new lines are appended. */
export class JsonLines {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string, resume: boolean): Promise<{ out: JsonLines; done: Set<string> }> {
    const done = new Set<string>();
    if (resume) {
      const text = await readFile(path, 'utf8').catch(() => '');
      // An interrupted run may have left half a line: cut it, so the next line starts clean.
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      if (complete.length !== text.length) await truncate(path, Buffer.byteLength(complete));
      for (const line of complete.split('\n')) {
        try {
          const file = (JSON.parse(line) as { file?: unknown }).file;
          if (typeof file === 'string') done.add(file);
        } catch {
          // not a result line
        }
      }
    }
    return { out: new JsonLines(await open(path, resume ? 'a' : 'w')), done };
  }

  async write(record: object): Promise<void> {
    await this.handle.write(`${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const clock = (s: number) =>
  Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '?';

/** A progress line for `total` images: done, images/s, time left (terminal only). */
export function imageProgress(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): ((done: number) => void) | undefined {
  if (!stream.isTTY || total === 0) return undefined;
  const start = performance.now();
  return (done) => {
    const seconds = (performance.now() - start) / 1000;
    const rate = done / seconds;
    stream.write(
      `\r${bar(done / total)} ${done}/${total} images, ${rate.toFixed(1)} images/s, ` +
        `${clock((total - done) / rate)} left${done === total ? '\n' : ''}`,
    );
  };
}

/**
 * `webgpu-resnet cam <image|folder...> [--list <file>] [--class-index N] [--top-k K] [--out <file.png|folder>]
 * [--json]`: where the
 * network looks (class activation maps): an overlay PNG per image and class, and with --json one line per
 * image and class: {"file","class","label","probability","logit","bias","height","width","map":[...]}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { ResNetModel } from '../api/model.js';
import type { NodeImage } from '../node.js';
import { overlayPng } from '../node/overlay.js';
import { report, skipBlocks, UsageError, type Parsed } from './args.js';
import { collectImages } from './image-list.js';

export async function cam(args: Parsed, model: ResNetModel<NodeImage>): Promise<number> {
  const classArg = args.flags.get('--class-index');
  const topArg = args.flags.get('--top-k');
  const out = args.flags.get('--out');
  const classIndex = classArg === undefined ? undefined : Number(classArg);
  const topK = Number(topArg ?? 1);
  if (classIndex !== undefined && !Number.isInteger(classIndex))
    throw new UsageError(`--class-index must be a class index, got ${classArg}`);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError(`--top-k must be a positive integer, got ${topArg}`);
  const list = args.flags.get('--list');
  const files = await collectImages(args.positional, typeof list === 'string' ? list : undefined);
  if (files.length === 0) throw new UsageError('cam needs at least one image');
  const toFile = typeof out === 'string' && /\.png$/i.test(out);
  if (toFile && (files.length > 1 || (classIndex === undefined && topK > 1)))
    throw new UsageError('--out <file.png> takes one image and one class; give a folder for more');
  if (typeof out === 'string' && !toFile) await mkdir(out, { recursive: true });
  let failures = 0;
  for (const file of files) {
    try {
      const explained = await model.explain(file, { classIndex, topK, skipBlocks: skipBlocks(args) });
      for (const e of explained) {
        const png =
          typeof out === 'string'
            ? toFile
              ? out
              : join(out, `${basename(file, extname(file))}-${e.classIndex}.png`)
            : undefined;
        if (png) await writeFile(png, await overlayPng(file, e, model.preprocessing));
        if (args.flags.has('--json')) {
          console.log(
            JSON.stringify({
              file,
              class: e.classIndex,
              label: e.label,
              probability: e.probability,
              logit: e.logit,
              bias: e.bias,
              height: e.height,
              width: e.width,
              map: Array.from(e.map),
            }),
          );
        } else {
          console.log(
            `${basename(file)}: ${e.label} (${e.classIndex}) ${(100 * e.probability).toFixed(2)}%, ` +
              `${e.height}x${e.width} map${png ? ` -> ${png}` : ''}`,
          );
        }
      }
    } catch (err) {
      failures++;
      report(err, args.flags.has('--verbose'));
    }
  }
  return failures ? 1 : 0;
}

/** Progress on stderr, drawn only when stderr is a terminal (never in pipes, logs or --json runs). */
import type { LoadProgress } from '../loaders/tfjs-layers.js';

const WIDTH = 24;
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

/** `[########----------------]  42%` */
export function bar(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(100 * f)).padStart(3)}%`;
}

/** A progress callback for loadResNet / fetchPretrained: the download into the model cache, then the read. */
export function loadProgressBar(stream: NodeJS.WriteStream = process.stderr): ((p: LoadProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let last = '';
  return ({ loadedBytes, totalBytes, stage }) => {
    const what = stage === 'download' ? 'downloading the pretrained ResNet-50' : 'loading weights';
    const fraction = totalBytes ? loadedBytes / totalBytes : 0;
    const line = `${what} ${bar(fraction)} ${mb(loadedBytes)} / ${mb(totalBytes)} MB`;
    if (line === last) return;
    last = line;
    stream.write(`\r${line}${fraction >= 1 ? '\n' : ''}`);
  };
}

/**
 * What a test file needs from outside the repository, checked when the file starts: a missing one fails
 * the file with one line saying what is missing and where it was looked for (browsers: launchBrowser in
 * browser.ts says so the same way).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../../src/node/paths.js';
import { runProcess } from './processes.js';

/** A path inside ../shared (the project leads' read-only data beside the repository). */
export function sharedPath(...parts: string[]): string {
  const path = resolve(packageRoot(), '..', 'shared', ...parts);
  if (!existsSync(path))
    throw new Error(
      `this test needs ../shared/${parts.join('/')} (the project's shared data, beside the repository): not found at ${path}`,
    );
  return path;
}

/** npm's registry answers (the tests that install packages or download the model need it). */
export async function needsRegistry(): Promise<void> {
  const ping = await runProcess('npm', ['ping', '--loglevel=error'], { timeout: 60_000 });
  if (ping.code !== 0)
    throw new Error(
      `this test needs npm's registry (npm ping failed: ${ping.stderr.split('\n').find(Boolean) ?? `exit ${ping.code}`}); check the network and \`npm config get registry\``,
    );
}

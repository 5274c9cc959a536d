/** Child processes as a user runs them: the CLI (dist/cli.js, built by `npm test` first) and a stub `npm`. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { packageRoot } from '../../src/node/paths.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` to its end; never rejects (a failure is in `code`). */
export function runProcess(file: string, args: string[], options: ExecFileOptions = {}): Promise<Ran> {
  return new Promise((done) => {
    execFile(file, args, { maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      done({
        code: err ? Number((err as { code?: number }).code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** The repository's CLI with `args`. */
export const runCli = (args: string[], options: ExecFileOptions = {}): Promise<Ran> =>
  runProcess(process.execPath, [join(packageRoot(), 'dist', 'cli.js'), ...args], { cwd: packageRoot(), ...options });

/** stderr lines that are ours (Dawn prints warnings about dynamic-offset limits on some drivers). */
export const ourLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l && !l.startsWith('Warning:'));

/**
 * An environment whose `npm` (first on PATH) records each call into `<folder>/npm-calls` and fails as npm
 * does offline: what a download through npm meets without a network.
 */
export async function offlineNpm(folder: string): Promise<{ env: NodeJS.ProcessEnv; calls: string }> {
  const bin = join(folder, 'no-npm');
  const calls = join(folder, 'npm-calls');
  await mkdir(bin, { recursive: true });
  await writeFile(
    join(bin, 'npm'),
    `#!/bin/sh\necho "npm $*" >> "${calls}"\necho "npm error code ENOTFOUND" >&2\nexit 1\n`,
  );
  await chmod(join(bin, 'npm'), 0o755);
  return { env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` }, calls };
}

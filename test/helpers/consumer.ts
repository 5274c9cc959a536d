/**
 * The project as its users get it: packed with `npm pack` (prepack builds dist/ and the declarations) and
 * installed from the tarball into a fresh app, with npm's own resolution of dependencies and peers.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { packageRoot } from '../../src/node/paths.js';
import { runProcess, type Ran } from './processes.js';

/** `npm pack` of the project into `folder`; the tarball's path. */
export async function packProject(folder: string): Promise<string> {
  const packed = await runProcess('npm', ['pack', '--pack-destination', folder, '--json', '--silent'], {
    cwd: packageRoot(),
  });
  expect(packed.code, packed.stderr).toBe(0);
  return join(folder, JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0].filename as string);
}

/** `npm install` in `app` (its package.json as written), failing the test with npm's output if it fails. */
export async function npmInstall(app: string, extra: string[] = []): Promise<Ran> {
  const ran = await runProcess('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extra], {
    cwd: app,
  });
  expect(ran.code, ran.stderr).toBe(0);
  return ran;
}

/** Bytes in a folder, recursively (symlinks not followed), as `du` counts apparent sizes. */
export async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

/** README.md and docs/*.md: the documents whose code a user copies. */
export async function documents(): Promise<Array<{ file: string; text: string }>> {
  const docs = (await readdir(join(packageRoot(), 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return Promise.all(
    ['README.md', ...docs].map(async (file) => ({ file, text: await readFile(join(packageRoot(), file), 'utf8') })),
  );
}

/** Every ```ts block of the documents, with the file it is in. */
export async function tsBlocks(): Promise<Array<{ file: string; code: string }>> {
  return (await documents()).flatMap(({ file, text }) =>
    [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({ file, code: m[1]! })),
  );
}

/**
 * The ```ts blocks of the README and docs/ whose first line is `// <tag>` (e.g. `// web app`): the
 * snippets a consumer test compiles as written.
 */
export async function readmeSnippets(tag: string): Promise<string[]> {
  return (await tsBlocks()).map((b) => b.code).filter((code) => code.startsWith(`// ${tag}`));
}

/**
 * Once per vitest run: dist/ built from the sources (esbuild, under a second), so a test that runs the
 * CLI or serves the demo never runs stale code, whichever layer or single file is run; and a fresh
 * assertion count (see count-assertions.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--quiet'], { stdio: 'inherit' });
  mkdirSync('test-output', { recursive: true });
  writeFileSync('test-output/assertions.jsonl', '');
}

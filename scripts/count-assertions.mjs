#!/usr/bin/env node
// Sums test-output/assertions.jsonl (written by test/helpers/count-assertions.ts during `npm test`):
// tests and assertions per file and in all. The file is emptied at the start of each vitest run.
import { readFileSync } from 'node:fs';

const rows = readFileSync('test-output/assertions.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const byFile = new Map();
for (const r of rows) {
  const t = byFile.get(r.file) ?? { tests: 0, assertions: 0 };
  t.tests += r.tests;
  t.assertions += r.assertions;
  byFile.set(r.file, t);
}
let tests = 0,
  assertions = 0;
for (const [file, t] of [...byFile].sort()) {
  console.log(`${file.padEnd(28)} ${String(t.tests).padStart(4)} tests ${String(t.assertions).padStart(6)} assertions`);
  tests += t.tests;
  assertions += t.assertions;
}
console.log(`${'total'.padEnd(28)} ${String(tests).padStart(4)} tests ${String(assertions).padStart(6)} assertions`);

/**
 * Counts the assertions each test file makes (vitest's expect.getState().assertionCalls after every test)
 * and appends one line per file to test-output/assertions.jsonl, so that a refactoring can show it kept
 * (or added) every check: `node scripts/count-assertions.mjs` sums them.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';

let tests = 0;
let assertions = 0;
afterEach(() => {
  tests++;
  assertions += expect.getState().assertionCalls;
});
afterAll(() => {
  const file = basename(expect.getState().testPath ?? 'unknown');
  mkdirSync('test-output', { recursive: true });
  appendFileSync('test-output/assertions.jsonl', `${JSON.stringify({ file, tests, assertions })}\n`);
});

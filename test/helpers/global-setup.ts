/** Once per vitest run: a fresh assertion count (see count-assertions.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';

export default function setup(): void {
  mkdirSync('test-output', { recursive: true });
  writeFileSync('test-output/assertions.jsonl', '');
}

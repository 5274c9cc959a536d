#!/usr/bin/env node
// The structure of src/: which unit (a folder of src/, or a file at its root) imports which, drawn as a
// Mermaid graph into docs/structure.md, with the two things that must stay at zero: import circles
// (files that reach themselves through their imports, type imports included) and upward arrows (a unit
// importing one placed above it in LAYERS). WGSL files are imported by the kernels alone; no line of src/ is
// over 120 characters and no file over 350 lines.
//   node scripts/structure.mjs           writes docs/structure.md, prints the counts
//   node scripts/structure.mjs --check   fails when a count is not zero or docs/structure.md is stale
//   node scripts/structure.mjs --layers layers.json   the same against another order (earlier trees)
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/**
 * Units from the bottom up: a unit may import itself and the units below it. Units in one entry share a
 * level and may not import each other.
 */
export const LAYERS = [
  ['errors.ts', 'webgpu-names.ts', 'wgsl.d.ts'],
  ['util/'],
  ['labels.ts', 'preprocess/'],
  ['ir/'],
  ['kernels/'],
  ['onnx/'],
  ['operators/'],
  ['graph/'],
  ['plan/'],
  ['runtime/'],
  ['arch/'],
  ['loaders/'],
  ['export/'],
  ['api/'],
  ['train/'],
  ['index.ts'],
  ['node/'],
  ['browser.ts', 'node.ts'],
  ['worker/'],
  ['worker.ts'],
  ['serve/'],
  ['serve.ts'],
  ['cli/'],
  ['cli.ts'],
];
/** The only unit whose files import WGSL (shaders/). */
export const SHADER_UNIT = 'kernels/';

const args = process.argv.slice(2);
const layersFile = args.includes('--layers') ? args[args.indexOf('--layers') + 1] : undefined;
const other = layersFile ? JSON.parse(readFileSync(layersFile, 'utf8')) : undefined;
const layers = other?.layers ?? LAYERS;
const shaderUnit = other?.shaders ?? SHADER_UNIT;
const level = new Map(layers.flatMap((units, i) => units.map((u) => [u, i])));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The unit of a path under src/: its first folder, or the file itself at the root. */
const unitOf = (path) => {
  const rel = relative(src, path).split('/');
  return rel.length > 1 ? `${rel[0]}/` : rel[0];
};

/** Relative imports of a file (static, type-only, re-exports and dynamic), resolved to paths. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers.map((s) => {
    const path = normalize(join(dirname(file), s));
    if (path.endsWith('.js')) return `${path.slice(0, -3)}.ts`;
    return existsSync(`${path}.ts`) ? `${path}.ts` : path;
  });
}

const all = files(src).sort();
const graph = new Map(all.map((f) => [f, importsOf(f)]));

/** Strongly connected components of the file graph with more than one file (or a file importing itself). */
function circles() {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of (graph.get(v) ?? []).filter((w) => graph.has(w))) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v).includes(v)) found.push(scc.map((f) => relative(src, f)).sort());
  };
  for (const f of all) if (!index.has(f)) visit(f);
  return found;
}

const edges = new Map(); // "from -> to" -> count of file imports
const upward = [];
const shaderImports = [];
const unplaced = new Set();
for (const [file, imports] of graph) {
  const from = unitOf(file);
  if (!level.has(from)) unplaced.add(from);
  for (const target of imports) {
    if (target.endsWith('.wgsl') || target.endsWith('.json')) {
      if (target.endsWith('.wgsl') && from !== shaderUnit)
        shaderImports.push(`${relative(src, file)} -> ${relative(root, target)}`);
      continue;
    }
    if (!target.startsWith(src)) continue;
    const to = unitOf(target);
    if (to === from) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
    if (!(level.get(to) < level.get(from))) upward.push(`${relative(src, file)} -> ${relative(src, target)}`);
  }
}
const cycles = circles();
/** Small pieces: no line over MAX_LINE characters, no file over MAX_FILE lines (functions: Biome's rule). */
const MAX_LINE = 120;
const MAX_FILE = 350;
const sizes = all.map((f) => ({ file: relative(src, f), lines: readFileSync(f, 'utf8').split('\n') }));
const longLines = sizes.flatMap(({ file, lines }) =>
  lines.flatMap((l, i) => (l.length > MAX_LINE ? [`${file}:${i + 1} (${l.length})`] : [])),
);
const largeFiles = sizes.filter((s) => s.lines.length > MAX_FILE).map((s) => `${s.file} (${s.lines.length})`);
const units = [...new Set(all.map(unitOf))].sort(
  (a, b) => (level.get(a) ?? 99) - (level.get(b) ?? 99) || a.localeCompare(b),
);

const id = (unit) => unit.replace(/[^a-z0-9]/gi, '_');
const lines = [
  '# The structure of src/',
  '',
  'Generated by `node scripts/structure.mjs` (checked by `npm run lint`: it fails when this file is stale).',
  'Each box is a folder of `src/` or a file at its root, placed by its layer (bottom: the most basic); an',
  'arrow is "imports", labelled with the number of imports. A unit imports only units below it',
  '(`LAYERS` in the script), and no file reaches itself through its imports.',
  '',
  `- import circles (files): ${cycles.length}`,
  `- upward arrows (imports of a unit at or above the importer's level): ${upward.length}`,
  `- WGSL imported outside ${shaderUnit}: ${shaderImports.length}`,
  `- lines over ${MAX_LINE} characters: ${longLines.length}; files over ${MAX_FILE} lines: ${largeFiles.length}`,
  '',
  '```mermaid',
  'flowchart BT',
  ...units.map((u) => `  ${id(u)}["${u} (${all.filter((f) => unitOf(f) === u).length})"]`),
  ...[...edges].map(([key, n]) => {
    const [from, to] = key.split(' -> ');
    return `  ${id(from)} -->|${n}| ${id(to)}`;
  }),
  '```',
  '',
];
const text = `${lines.join('\n')}`;
const report = [
  `import circles: ${cycles.length}${cycles.map((c) => `\n  ${c.join(' <-> ')}`).join('')}`,
  `upward arrows: ${upward.length}${upward.map((u) => `\n  ${u}`).join('')}`,
  `WGSL outside ${shaderUnit}: ${shaderImports.length}${shaderImports.map((u) => `\n  ${u}`).join('')}`,
  `lines over ${MAX_LINE} characters: ${longLines.length}${longLines.map((u) => `\n  ${u}`).join('')}`,
  `files over ${MAX_FILE} lines: ${largeFiles.length}${largeFiles.map((u) => `\n  ${u}`).join('')}`,
  ...(unplaced.size ? [`units not in LAYERS: ${[...unplaced].join(', ')}`] : []),
].join('\n');
console.log(report);
const doc = join(root, 'docs', 'structure.md');
if (args.includes('--check')) {
  const stale = !existsSync(doc) || readFileSync(doc, 'utf8') !== text;
  if (stale) console.log('docs/structure.md is stale: run node scripts/structure.mjs');
  const over = longLines.length || largeFiles.length;
  if (cycles.length || upward.length || shaderImports.length || unplaced.size || over || stale) process.exit(1);
} else if (!layersFile) {
  writeFileSync(doc, text);
}

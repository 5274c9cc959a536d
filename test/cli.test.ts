/** The command line, end to end, as a user runs it (dist/cli.js, built by `npm test` first). */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/node/image.js';
import { packageRoot } from '../src/node/paths.js';
import { CAFFE_PREPROCESSING, preprocessImage } from '../src/preprocess/preprocess.js';
import { sharedPath } from './helpers/needs.js';

const root = packageRoot();
const cli = join(root, 'dist', 'cli.js');
const sampleDir = sharedPath('data', 'imagenet-sample');
const husky = join(sampleDir, '250_n02110185_Siberian_husky.JPEG');
let work: string;
let fixture: { images: Array<{ file: string; top5: Array<{ index: number; probability: number }> }> };

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      cwd: root,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** stderr lines that are ours (Dawn prints a warning about dynamic-offset limits on some drivers). */
const ours = (stderr: string) => stderr.split('\n').filter((l) => l && !l.startsWith('Warning:'));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webgpu-resnet-cli-'));
  fixture = JSON.parse(await readFile(join(root, 'test', 'fixtures', 'imagenet-sample-reference.json'), 'utf8'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('webgpu-resnet CLI', () => {
  it('classify --json: one line per image; a failing image is reported and the others still classified (exit 1)', async () => {
    const { code, stdout, stderr } = await run('classify', husky, join(work, 'missing.jpg'), '--json', '--top', '3');
    expect(code).toBe(1);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0].file).toBe(husky);
    expect(lines[0].top).toHaveLength(3);
    expect(Object.keys(lines[0].top[0]).sort()).toEqual(['index', 'label', 'probability']);
    const reference = fixture.images.find((i) => i.file === '250_n02110185_Siberian_husky.JPEG')!;
    expect(lines[0].top[0].index).toBe(reference.top5[0]!.index);
    expect(lines[0].top[0].probability).toBeCloseTo(reference.top5[0]!.probability, 4);
    expect(ours(stderr)).toEqual([expect.stringMatching(/^webgpu-resnet: error: .*missing\.jpg: cannot decode image/)]);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });

  it('classify prints a readable top-5', async () => {
    const { code, stdout } = await run('classify', husky);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^250_n02110185_Siberian_husky\.JPEG\n {3}1\. \S+ \(\d+\) +\d+\.\d\d%/);
    expect(stdout.trim().split('\n')).toHaveLength(6);
  });

  it('infer runs a preprocessed NCHW tensor and prints {shape, data}', async () => {
    const nhwc = preprocessImage(await decodeImage(husky), CAFFE_PREPROCESSING);
    const nchw = new Float32Array(2 * nhwc.length);
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < 224 * 224; p++)
        for (let c = 0; c < 3; c++) nchw[b * nhwc.length + c * 224 * 224 + p] = nhwc[p * 3 + c]!;
    const file = join(work, 'x.f32');
    await writeFile(file, new Uint8Array(nchw.buffer));
    const { code, stdout } = await run(
      'infer',
      '--input',
      file,
      '--shape',
      '2,3,224,224',
      '--layout',
      'nchw',
      '--output',
      'probabilities',
      '--json',
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.shape).toEqual([2, 1000]);
    expect(out.data).toHaveLength(2000);
    const reference = fixture.images.find((i) => i.file === '250_n02110185_Siberian_husky.JPEG')!;
    for (let b = 0; b < 2; b++) {
      const row: number[] = out.data.slice(b * 1000, (b + 1) * 1000);
      expect(row.indexOf(Math.max(...row))).toBe(reference.top5[0]!.index);
    }
  });

  it("embed --json prints each image's 2048 features; without --json, the cosine similarity of the pair", async () => {
    const zebra = join(sampleDir, '340_n02391049_zebra.JPEG');
    const { code, stdout } = await run('embed', husky, zebra, '--json');
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; embedding: number[] });
    expect(lines.map((l) => l.file)).toEqual([husky, zebra]);
    for (const l of lines) expect(l.embedding).toHaveLength(2048);
    const [a, b] = lines.map((l) => l.embedding);
    const dot = a!.reduce((s, v, i) => s + v * b![i]!, 0);
    const cosine = dot / Math.hypot(...a!) / Math.hypot(...b!);
    const text = await run('embed', husky, zebra, '--normalize');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/250_n02110185_Siberian_husky\.JPEG: 2048 values, L2 norm 1\.0000 \[/);
    expect(text.stdout).toContain(`${cosine.toFixed(4)}  250_n02110185_Siberian_husky.JPEG ~ 340_n02391049_zebra.JPEG`);
  });

  it('classify --skip-blocks deletes blocks (top-1 as TF.js gives it for the model rewired without res2b); blocks lists them', async () => {
    const { code, stdout } = await run('classify', husky, '--skip-blocks', 'layer1.1', '--json', '--top', '1');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).top[0].index).toBe(361); // TF.js on the model rewired without res2b: 361 (test/resnet50.test.ts)
    const blocks = await run('blocks');
    expect(blocks.code).toBe(0);
    expect(blocks.stdout.trim().split('\n')).toHaveLength(17);
    expect(blocks.stdout).toMatch(
      /layer3\.2 +14x14x1024 -> 14x14x1024 +identity +res4c_branch2a, res4c_branch2b, res4c_branch2c/,
    );
    const bad = await run('classify', husky, '--skip-blocks', 'layer3.9');
    expect(bad.code).toBe(1);
    expect(ours(bad.stderr)).toEqual([
      'webgpu-resnet: error: unknown residual block "layer3.9": this resnet50 has layer1.0..layer1.2, layer2.0..layer2.3, layer3.0..layer3.5, layer4.0..layer4.2',
    ]);
  });

  it('convert writes an int8 file of the pretrained model (into a folder it creates) that --weights loads with no other flag (same top-5 as --precision int8)', async () => {
    const out = join(work, 'not-yet', 'compact', 'resnet50-int8.safetensors');
    const converted = await run('convert', '--precision', 'int8', '--out', out, '--json');
    expect(converted.code, converted.stderr).toBe(0);
    const summary = JSON.parse(converted.stdout);
    expect(summary).toMatchObject({ out, precision: 'int8', format: 'tfjs-layers' });
    expect(summary.bytes).toBeLessThanOrEqual(26e6);
    const fromFile = await run('classify', husky, '--weights', out, '--json');
    const atLoad = await run('classify', husky, '--precision', 'int8', '--json');
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout).top).toEqual(JSON.parse(atLoad.stdout).top);
    const bad = await run('convert', '--precision', 'int4', '--out', out);
    expect(ours(bad.stderr)).toEqual([
      'webgpu-resnet: error: convert needs --precision f32|f16|int8 (see webgpu-resnet --help)',
    ]);
  });

  it('convert --input-size 288 writes a file that classifies with no flag exactly as --input-size 288 does', async () => {
    const out = join(work, 'r50-288.safetensors');
    const converted = await run('convert', '--precision', 'f32', '--input-size', '288', '--out', out);
    expect(converted.code, converted.stderr).toBe(0);
    const fromFile = await run('classify', husky, '--weights', out, '--json', '--top-k', '5');
    const asked = await run('classify', husky, '--input-size', '288', '--json', '--top-k', '5');
    expect(fromFile.code, fromFile.stderr).toBe(0);
    type Top = Array<{ index: number; probability: number }>;
    const got: Top = JSON.parse(fromFile.stdout).top;
    const want: Top = JSON.parse(asked.stdout).top;
    expect(got.map((p) => p.index)).toEqual(want.map((p) => p.index));
    for (const [i, p] of got.entries()) expect(p.probability).toBeCloseTo(want[i]!.probability, 5);
    const info = JSON.parse((await run('info', '--weights', out, '--json')).stdout);
    expect(info.inputShape).toEqual([288, 288, 3]);
  });

  it('a large output through a pipe arrives whole (the process exits after stdout takes it)', async () => {
    const photos = [
      '250_n02110185_Siberian_husky.JPEG',
      '340_n02391049_zebra.JPEG',
      '000_n01440764_tench.JPEG',
      '510_n03095699_container_ship.JPEG',
    ];
    const { code, stdout } = await run('embed', ...photos.map((p) => join(sampleDir, p)), '--json'); // a path named twice is embedded once
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(stdout.length).toBeGreaterThan(4 * 2048 * 8); // well over a pipe's 64 KiB buffer
    expect(lines.map((l) => (JSON.parse(l) as { embedding: number[] }).embedding.length)).toEqual([
      2048, 2048, 2048, 2048,
    ]);
  });

  it('cam --json prints one line per class with a 7x7 map whose mean plus the bias is the logit; --out writes the overlay PNG', async () => {
    const { code, stdout } = await run('cam', husky, '--top', '2', '--json');
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            file: string;
            class: number;
            label: string;
            probability: number;
            logit: number;
            bias: number;
            height: number;
            width: number;
            map: number[];
          },
      );
    expect(lines).toHaveLength(2);
    const reference = fixture.images.find((i) => i.file === '250_n02110185_Siberian_husky.JPEG')!;
    expect(lines.map((l) => l.class)).toEqual(reference.top5.slice(0, 2).map((t) => t.index));
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual([
        'bias',
        'class',
        'file',
        'height',
        'label',
        'logit',
        'map',
        'probability',
        'width',
      ]);
      expect([l.height, l.width, l.map.length]).toEqual([7, 7, 49]);
      expect(Math.abs(l.map.reduce((a, b) => a + b, 0) / 49 + l.bias - l.logit)).toBeLessThan(
        1e-4 * Math.abs(l.logit) + 1e-4,
      );
    }
    const png = join(work, 'husky-cam.png');
    const drawn = await run('cam', husky, '--class', '250', '--out', png);
    expect(drawn.code).toBe(0);
    expect(drawn.stdout).toContain(`Siberian_husky (250)`);
    const bytes = await readFile(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('ONNX metadata_props preprocessing=caffe is read, --preprocessing names it on the command line, --verbose prints it', async () => {
    const { graphToOnnx } = await import('../src/export/onnx.js');
    const { goldenModel } = await import('../scripts/golden-model.js');
    const { graph } = goldenModel(18);
    const zebra = join(sampleDir, '340_n02391049_zebra.JPEG');
    const top1 = async (...args: string[]) => {
      const r = await run('classify', zebra, '--json', '--top', '1', ...args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { top: Array<{ index: number; probability: number }> }).top[0]!;
    };
    const declared = join(work, 'r18-caffe.onnx');
    const bare = join(work, 'r18.onnx');
    await writeFile(declared, graphToOnnx(graph, { softmax: false, metadata: { preprocessing: 'caffe' } }));
    await writeFile(bare, graphToOnnx(graph, { softmax: false }));
    const fromMetadata = await top1('--weights', declared);
    const fromFlag = await top1('--weights', bare, '--preprocessing', 'caffe');
    expect(fromFlag).toEqual(fromMetadata);
    const torch = await top1('--weights', bare); // ONNX files default to torchvision's preprocessing
    expect(Math.abs(torch.probability - fromMetadata.probability)).toBeGreaterThan(1e-4);
    const verbose = await run('classify', zebra, '--weights', declared, '--verbose', '--top', '1');
    expect(ours(verbose.stderr).join('\n')).toContain(
      'preprocessing: resize 256, crop 224, BGR, x1, mean [103.939,116.779,123.68]',
    );
    const shown = await run('info', '--weights', declared, '--input-size', '288', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      inputShape: [288, 288, 3],
      preprocessing: { order: 'BGR', resizeTo: 329, cropTo: 288 },
    });
    const bad = await run('classify', zebra, '--preprocessing', 'tf');
    expect(ours(bad.stderr)).toEqual([
      'webgpu-resnet: error: --preprocessing must be caffe or torch, got tf (see webgpu-resnet --help)',
    ]);
  });

  it('an ONNX export of the Keras ResNet-50 (zero Pad nodes, caffe preprocessing) is classified as the Keras model with --preprocessing caffe', async () => {
    const { loadGraph } = await import('../src/node.js');
    const { graphToOnnx } = await import('../src/export/onnx.js');
    const onnx = join(work, 'keras-resnet50.onnx');
    await writeFile(onnx, graphToOnnx((await loadGraph({})).graph, { inputLayout: 'nchw' }));
    const files = ['000_n01440764_tench.JPEG', '340_n02391049_zebra.JPEG', '510_n03095699_container_ship.JPEG'].map(
      (f) => join(sampleDir, f),
    );
    const tops = async (...args: string[]) => {
      const r = await run('classify', ...files, '--json', '--top', '1', ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { top: Array<{ index: number; probability: number }> }).top[0]!);
    };
    const keras = await tops();
    const fromOnnx = await tops('--weights', onnx, '--preprocessing', 'caffe');
    expect(fromOnnx.map((t) => t.index)).toEqual(keras.map((t) => t.index));
    for (const [i, t] of fromOnnx.entries()) expect(t.probability).toBeCloseTo(keras[i]!.probability, 4);
    console.log(
      `Keras ResNet-50 as ONNX with --preprocessing caffe: top-1 ${fromOnnx.map((t) => `${t.index} (${t.probability.toFixed(4)})`).join(', ')}; Keras model.json: ${keras.map((t) => t.index).join(', ')}`,
    );
  });

  it('usage errors (exit 2) and input errors (exit 1) are one line on stderr; a flag a command does not take is named', async () => {
    const usage: Array<[string[], RegExp]> = [
      [['classify'], /classify needs at least one image/],
      [['frobnicate'], /unknown command frobnicate/],
      [[], /no command given/],
      [['convert', '--precision', 'f16'], /convert needs --out/],
      [['classify', husky, '--top', 'x'], /--top-k must be a positive integer, got x/],
      [['blocks', '--top', '3'], /^webgpu-resnet: error: blocks does not take --top \(see webgpu-resnet --help\)$/],
      [['fetch', '--weights', 'x'], /fetch does not take --weights/],
      [['classify', husky, '--normalize'], /classify does not take --normalize/],
      [['classify', husky, '--json=yes'], /--json takes no value/],
      [['infer', '--layout'], /--layout needs a value/],
    ];
    const input = [
      ['infer', '--input', join(work, 'none.f32'), '--shape', '1,224,224,3'],
      ['infer', '--input', husky, '--shape', '1,224,224,3', '--layout', 'nhwc'],
    ];
    for (const [args, message] of usage) {
      const { code, stderr } = await run(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(ours(stderr), args.join(' ')).toEqual([expect.stringMatching(message)]);
    }
    for (const args of input) {
      const { code, stderr } = await run(...args);
      expect(code, args.join(' ')).toBe(1);
      expect(ours(stderr), args.join(' ')).toEqual([expect.stringMatching(/^webgpu-resnet: error: /)]);
    }
  });
});

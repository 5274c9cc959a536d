/**
 * Soak: N inferences on one model, printing GPU bytes held and the JS heap every `every` runs; both must
 * stay flat (no per-run buffers, bind groups or arrays that outlive the run).
 *   npm run soak -- --runs 2000 [--every 100] [--model resnet50|resnet18] [--size 224] [--json]
 * resnet50: the pretrained Keras model (about 1.3 s per run on lavapipe); resnet18: torchvision topology
 * with synthetic weights at --size pixels (fast enough for CI's short soak).
 */
import { pathToFileURL } from 'node:url';
import { buildResNet, standardArchitecture } from '../src/arch/resnet.js';
import { createModel } from '../src/api/create.js';
import { loadResNet, type NodeImage, nodePlatform, type ResNetModel } from '../src/node.js';
import { generate } from '../scripts/golden-model.js';

export interface SoakReport {
  run: number;
  gpuBytes: number;
  heapMB: number;
}

export async function soak(options: {
  runs: number;
  every?: number;
  model?: 'resnet50' | 'resnet18';
  size?: number;
  onReport?: (r: SoakReport) => void;
}): Promise<SoakReport[]> {
  const every = options.every ?? 100;
  const size = options.size ?? 224;
  let model: ResNetModel<NodeImage>;
  if ((options.model ?? 'resnet50') === 'resnet50') model = await loadResNet();
  else {
    const graph = buildResNet((name, shape) => generate(name, shape, name.includes('.bn2.')), {
      architecture: standardArchitecture(18),
      inputSize: size,
    });
    model = await createModel({ graph, format: 'safetensors' }, {}, nodePlatform());
  }
  const [h, w, c] = model.info.inputShape;
  const reports: SoakReport[] = [];
  try {
    for (let run = 1; run <= options.runs; run++) {
      // a fresh input each run, as an application would pass
      const input = new Float32Array(h * w * c).map((_, i) => ((i * 31 + run) % 200) / 100 - 1);
      await model.infer(input);
      if (run % every === 0 || run === options.runs) {
        (globalThis as { gc?: () => void }).gc?.();
        const r = { run, gpuBytes: model.gpuBytes, heapMB: process.memoryUsage().heapUsed / 2 ** 20 };
        reports.push(r);
        options.onReport?.(r);
      }
    }
  } finally {
    model.dispose();
  }
  return reports;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 2000);
  const modelName = (arg('--model') ?? 'resnet50') as 'resnet50' | 'resnet18';
  if (!Number.isInteger(runs) || runs < 1 || !['resnet50', 'resnet18'].includes(modelName)) {
    console.error('usage: npm run soak -- --runs N [--every 100] [--model resnet50|resnet18] [--size 224] [--json]');
    process.exit(1);
  }
  const json = args.includes('--json');
  if (!json) console.log('| run | GPU bytes | JS heap MB |\n| --- | --- | --- |');
  const reports = await soak({
    runs,
    model: modelName,
    every: Number(arg('--every') ?? 100),
    size: Number(arg('--size') ?? 224),
    onReport: (r) => {
      if (!json) console.log(`| ${r.run} | ${r.gpuBytes.toLocaleString('en-US')} | ${r.heapMB.toFixed(1)} |`);
    },
  });
  if (json) console.log(JSON.stringify(reports));
  else {
    const [first, last] = [reports[0]!, reports.at(-1)!];
    console.log(
      `GPU bytes ${first.gpuBytes === last.gpuBytes ? 'flat' : 'CHANGED'} (${last.gpuBytes.toLocaleString('en-US')}); heap ${first.heapMB.toFixed(1)} -> ${last.heapMB.toFixed(1)} MB`,
    );
  }
  process.exit(0);
}

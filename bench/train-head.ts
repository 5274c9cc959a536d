/**
 * The head's training alone, timed: n synthetic examples of f features in c classes, `epochs` epochs, on
 * the Node adapter (lavapipe here), batch `batch`; the whole fit (pipelines included) and ms per epoch,
 * with a validation split of 0.2 and without one.
 * Usage: npm run bench:train -- [n f c epochs batch] (defaults 1000 2048 20 100 32) */
import { acquireNodeDevice } from '../src/node/gpu.js';
import { GpuHeadTrainer } from '../src/train/gpu-trainer.js';
import { splitExamples } from '../src/train/head-math.js';
import { BUFFER } from '../src/runtime/usage.js';

const [n = 1000, f = 2048, c = 20, epochs = 100, batch = 32] = process.argv.slice(2).map(Number);
const { device, adapter, release } = await acquireNodeDevice();
const x = new Float32Array(n * f);
for (let i = 0; i < n; i++)
  for (let j = 0; j < f; j++) x[i * f + j] = Math.sin(i * 0.37 + j * 0.011) + ((j * 31 + (i % c) * 7) % 13) * 0.1;
const labels = Uint32Array.from({ length: n }, (_, i) => i % c);
for (const validationSplit of [0.2, 0]) {
  const features = device.createBuffer({
    size: x.byteLength,
    usage: BUFFER.STORAGE | BUFFER.COPY_DST | BUFFER.COPY_SRC,
  });
  device.queue.writeBuffer(features, 0, x);
  const split = splitExamples(Uint32Array.from(labels.keys()), labels, c, validationSplit, 1);
  const trainer = new GpuHeadTrainer(device);
  const t0 = performance.now();
  const result = await trainer.fit(
    {
      features,
      n,
      f,
      classes: c,
      labels,
      train: split.train,
      validation: split.validation,
      classWeight: new Float32Array(c).fill(1),
    },
    { epochs, learningRate: 0.01, weightDecay: 1e-4, batchSize: batch, seed: 1, patience: epochs },
  );
  const ms = performance.now() - t0;
  console.log(
    `${n} x ${f} x ${c}, ${result.history.length} epochs, batch ${batch}, validation ${validationSplit}: ${ms.toFixed(0)} ms (${(ms / result.history.length).toFixed(1)} ms per epoch), final accuracy ${result.history.at(-1)!.accuracy.toFixed(3)} on ${adapter.info?.description ?? ''}`,
  );
  trainer.destroy();
  features.destroy();
}
release();

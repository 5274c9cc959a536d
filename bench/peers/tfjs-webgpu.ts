/**
 * Peer: TensorFlow.js's WebGPU backend running the same Keras model (topology and weights), on the same
 * Dawn instance.
 */
import type { InMemoryModel } from '../../src/loaders/formats.js';
import { provideNavigatorGpu, type Peer } from './peer.js';

export async function tfjsWebGPU(gpu: GPU, files: InMemoryModel): Promise<Peer> {
  provideNavigatorGpu(gpu);
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  const tfl = await import('@tensorflow/tfjs-layers');
  let model: import('@tensorflow/tfjs-layers').LayersModel | undefined;
  const json = files.modelJson as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: unknown[] }>;
  };
  return {
    name: 'tfjs-webgpu 4.22',
    async load() {
      const t0 = performance.now();
      if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialize');
      await tf.ready();
      const parts = json.weightsManifest.flatMap((g) => g.paths).map((p) => new Uint8Array(files.weights[p]!));
      const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      const weightSpecs = json.weightsManifest.flatMap(
        (g) => g.weights,
      ) as import('@tensorflow/tfjs-core').io.WeightsManifestEntry[];
      model = await tfl.loadLayersModel(
        tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: all.buffer }),
      );
      return performance.now() - t0;
    },
    async run(input, batch) {
      const x = tf.tensor(input, [batch, 224, 224, 3]);
      const y = model!.predict(x) as import('@tensorflow/tfjs-core').Tensor;
      const data = (await y.data()) as Float32Array;
      x.dispose();
      y.dispose();
      return data;
    },
    async dispose() {
      model?.dispose();
      tf.engine().reset();
    },
  };
}

/**
 * Peer: TensorFlow.js's WebGPU backend running the same Keras model.json, on the same Dawn instance.
 * tfjs-webgpu looks for navigator.gpu; Node 20 has no navigator, so the bench provides one.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface Peer {
  name: string;
  load(): Promise<number>;
  run(input: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export async function tfjsWebGPU(gpu: GPU, modelJsonPath: string): Promise<Peer> {
  if (!(globalThis as { navigator?: unknown }).navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  } else if (!(globalThis.navigator as { gpu?: GPU }).gpu) {
    Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  const tfl = await import('@tensorflow/tfjs-layers');
  let model: import('@tensorflow/tfjs-layers').LayersModel | undefined;
  return {
    name: 'tfjs-webgpu 4.22',
    async load() {
      const t0 = performance.now();
      if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialize');
      await tf.ready();
      const json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
      const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
      const parts = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dirname(modelJsonPath), p))));
      const all = Buffer.concat(parts);
      model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length) }));
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

/** What the bench asks of a runtime it compares with the engine, and the navigator.gpu the peers look for. */
export interface Peer {
  name: string;
  /** Loads the model; returns milliseconds. */
  load(): Promise<number>;
  /** `batch` NHWC images in, `batch` x 1000 probabilities out. */
  run(input: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The peers look for navigator.gpu; Node 20 has no navigator, so one is provided over Dawn's GPU. */
export function provideNavigatorGpu(gpu: GPU): void {
  if (!(globalThis as { navigator?: unknown }).navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  } else if (!(globalThis.navigator as { gpu?: GPU }).gpu) {
    Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  }
}

/**
 * The executor a model runs on, and its replacement after a device loss: with `recreate` (the engine's own
 * device, `recover: true`), the first call after the loss builds a new executor on a new device from the
 * same planner and the packed constants kept for it; without it, calls keep failing with the loss
 * (Executor says so).
 */
import { Executor } from './executor.js';

/** A new device for recovery, and how to release it. */
export type DeviceFactory = () => Promise<{ device: GPUDevice; release?: () => void }>;

export class RecoveringExecutor {
  private recovering: Promise<Executor> | undefined;

  constructor(
    private executor: Executor,
    private release: (() => void) | undefined,
    private readonly recreate: DeviceFactory | undefined,
  ) {}

  /** The executor now (possibly on a lost device). */
  get now(): Executor {
    return this.executor;
  }

  /** The executor to run on: a new one on a new device when the current device is lost and recovery is on. */
  async current(): Promise<Executor> {
    if (!this.executor.isLost || !this.recreate) return this.executor;
    this.recovering ??= (async () => {
      const { device, release } = await this.recreate!();
      try {
        const executor = await Executor.create(device, this.executor.planner, this.executor.kept);
        this.executor.dispose();
        this.release?.();
        this.executor = executor;
        this.release = release;
        return executor;
      } catch (err) {
        release?.();
        throw err;
      } finally {
        this.recovering = undefined;
      }
    })();
    return this.recovering;
  }

  /** Destroys the executor's buffers and releases the device the engine owns. */
  dispose(): void {
    this.executor.dispose();
    this.release?.();
    this.release = undefined;
  }
}

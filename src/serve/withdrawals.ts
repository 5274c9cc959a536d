/** How a request withdraws its queued jobs (src/serve/batcher.ts) when no one waits for them any more. */

/**
 * A request's queued jobs, withdrawn together (on its timeout, its client gone, or its failure); a job added after
 * that is withdrawn at once.
 */
export class Withdrawals {
  private readonly cancels: Array<() => void> = [];
  private done = false;

  add(cancel: () => void): void {
    if (this.done) cancel();
    else this.cancels.push(cancel);
  }

  withdraw(): void {
    this.done = true;
    for (const cancel of this.cancels.splice(0)) cancel();
  }
}

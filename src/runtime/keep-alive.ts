/**
 * Dawn in Node resolves its promises (mapAsync, createComputePipelineAsync, popErrorScope) from a
 * callback that only runs while Node's event loop is busy: without a pending timer they can stall for
 * seconds. `whileGPU` keeps a short interval alive until the promise settles. Harmless in browsers.
 */
let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export async function whileGPU<T>(promise: Promise<T>): Promise<T> {
  if (pending++ === 0) timer = setInterval(() => {}, 1);
  try {
    return await promise;
  } finally {
    if (--pending === 0) clearInterval(timer);
  }
}

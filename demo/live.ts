/**
 * Live mode: camera frames (getUserMedia) classified as they come, one in flight at a time: a frame that
 * arrives while one is being classified is dropped, never queued, so the answer is never behind the
 * picture. Each frame goes to the model as a VideoFrame (to the worker by transfer, then to the GPU as a
 * texture). Shows the live top-1 and the frames classified per second; the same button stops the
 * camera. Test hooks: [data-testid=camera], [data-testid=live-prediction] (data-index,
 * data-probability), [data-testid=fps].
 */
import type { DemoModel } from './engine.js';

export interface LivePanel {
  stop(): void;
}

export function livePanel(
  root: HTMLElement,
  getModel: () => DemoModel | undefined,
  skipped: () => string[],
  onError: (message: string) => void,
): LivePanel {
  const button = root.querySelector<HTMLButtonElement>('[data-testid=camera]')!;
  const video = root.querySelector<HTMLVideoElement>('video')!;
  const prediction = root.querySelector<HTMLElement>('[data-testid=live-prediction]')!;
  const fps = root.querySelector<HTMLElement>('[data-testid=fps]')!;
  let stream: MediaStream | undefined;
  let inFlight = false;
  let done: number[] = []; // completion times of the last classified frames

  const stop = () => {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = undefined;
    video.srcObject = null;
    button.textContent = 'Camera';
    button.setAttribute('aria-pressed', 'false');
    root.classList.remove('live');
  };

  const onFrame = () => {
    if (!stream) return;
    video.requestVideoFrameCallback(onFrame);
    const model = getModel();
    if (!model || inFlight || video.readyState < 2) return; // dropped, never queued
    inFlight = true;
    const frame = new VideoFrame(video);
    model
      .classifyFrame(frame, { topK: 1, skipBlocks: skipped() })
      .then(
        ([top]) => {
          if (!stream || !top) return;
          const now = performance.now();
          done = [...done.filter((t) => now - t < 5000), now];
          const rate = done.length > 1 ? (1000 * (done.length - 1)) / (now - done[0]!) : 0;
          prediction.dataset.index = String(top.index);
          prediction.dataset.probability = String(top.probability);
          prediction.textContent = `${top.label.replace(/_/g, ' ')} ${(100 * top.probability).toFixed(1)}%`;
          fps.textContent = rate.toFixed(2);
        },
        (err: unknown) => {
          onError(err instanceof Error ? err.message : String(err));
          stop();
        },
      )
      .finally(() => (inFlight = false));
  };

  button.addEventListener('click', async () => {
    if (stream) return stop();
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (err) {
      onError(`the camera could not be opened: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    done = [];
    // nothing from the last time the camera ran is shown as this run's answer
    fps.textContent = '0';
    delete prediction.dataset.index;
    delete prediction.dataset.probability;
    prediction.textContent = '';
    video.srcObject = stream;
    await video.play();
    button.textContent = 'Stop camera';
    button.setAttribute('aria-pressed', 'true');
    root.classList.add('live');
    video.requestVideoFrameCallback(onFrame);
  });
  return { stop };
}

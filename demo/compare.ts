/**
 * The similarity panel: two images (each a bundled sample or a file of yours), their embeddings
 * (model.embed: the 2048 global-average-pooled features) and the cosine similarity of the two.
 * Test hooks: [data-testid=similarity] holds the value (data-value) once computed.
 */
import { cosineSimilarity } from '../src/browser.js';

export interface ComparePanel {
  enable(on: boolean): void;
}

type Slot = { select: HTMLSelectElement; file: HTMLInputElement; img: HTMLImageElement };

/** `embed` runs the model on a blob (with the page's current block toggles). */
/** `preferred`: a pattern per slot for the sample it starts with (else the first samples in order). */
export function comparePanel(
  root: HTMLElement,
  samples: string[],
  preferred: RegExp[],
  embed: (blob: Blob) => Promise<Float32Array>,
  onError: (message: string) => void,
): ComparePanel {
  const slots: Slot[] = [...root.querySelectorAll<HTMLElement>('.slot')].map((el, i) => {
    const select = el.querySelector('select')!;
    for (const file of samples)
      select.append(
        new Option(
          file
            .replace(/^\d+_n\d+_/, '')
            .replace(/\.\w+$/, '')
            .replace(/_/g, ' '),
          file,
        ),
      );
    const match = samples.findIndex((f) => preferred[i]?.test(f));
    select.selectedIndex = match >= 0 ? match : Math.min(i, samples.length - 1);
    return { select, file: el.querySelector<HTMLInputElement>('input[type=file]')!, img: el.querySelector('img')! };
  });
  const button = root.querySelector<HTMLButtonElement>('.compare')!;
  const out = root.querySelector<HTMLElement>('[data-testid=similarity]')!;
  const blobOf = async (slot: Slot): Promise<Blob> =>
    slot.file.files?.[0] ?? (await fetch(`samples/${encodeURIComponent(slot.select.value)}`)).blob();
  const preview = async (slot: Slot) => {
    URL.revokeObjectURL(slot.img.src);
    slot.img.src = URL.createObjectURL(await blobOf(slot));
  };
  for (const slot of slots) {
    slot.select.addEventListener('change', () => {
      slot.file.value = '';
      void preview(slot);
    });
    slot.file.addEventListener('change', () => void preview(slot));
    void preview(slot);
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.textContent = 'computing…';
    delete out.dataset.value;
    try {
      const [a, b] = [await embed(await blobOf(slots[0]!)), await embed(await blobOf(slots[1]!))];
      const value = cosineSimilarity(a!, b!);
      out.dataset.value = String(value);
      out.innerHTML = `cosine similarity <b>${value.toFixed(3)}</b> <span class="small">(${a!.length}-d embeddings: 1 = same direction, 0 = unrelated)</span>`;
    } catch (err) {
      out.textContent = '';
      onError(err instanceof Error ? err.message : String(err));
    } finally {
      button.disabled = false;
    }
  });
  return {
    enable: (on) => {
      button.disabled = !on;
    },
  };
}

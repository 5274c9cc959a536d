/**
 * The GPU-time panel: model.profile() (timestamp queries around every dispatch) summed per residual
 * block, plus the stem before the first block and the head after the last, drawn as horizontal bars.
 * Deleted blocks show as deleted. Test hooks: [data-testid=profile-row] with data-group and data-ms.
 */
import type { BlockInfo, ProfileStep } from '../src/browser.js';

export interface ProfileGroup {
  /** 'stem', a block's name, or 'head'. */
  name: string;
  ms: number;
  /** The dispatches summed into it, by label. */
  dispatches: string[];
  deleted: boolean;
}

/** Sums a profile per block; `skipped` blocks appear with no time. Pure: tested in Node (test/lesion.test.ts). */
export function groupProfile(
  steps: readonly ProfileStep[],
  blocks: readonly BlockInfo[],
  skipped: readonly string[] = [],
): ProfileGroup[] {
  const owner = new Map<string, string>();
  for (const b of blocks)
    for (const layer of [...b.layers, ...(b.shortcut ? [b.shortcut] : [])]) owner.set(layer, b.name);
  const groups = new Map<string, ProfileGroup>([['stem', { name: 'stem', ms: 0, dispatches: [], deleted: false }]]);
  for (const b of blocks)
    groups.set(b.name, { name: b.name, ms: 0, dispatches: [], deleted: skipped.includes(b.name) });
  groups.set('head', { name: 'head', ms: 0, dispatches: [], deleted: false });
  let seenBlock = false;
  for (const step of steps) {
    const block = owner.get(step.layer);
    if (block) seenBlock = true;
    const group = groups.get(block ?? (seenBlock ? 'head' : 'stem'))!;
    group.ms += step.ms;
    group.dispatches.push(step.label);
  }
  return [...groups.values()];
}

export function drawProfile(root: HTMLElement, groups: readonly ProfileGroup[], adapter: string): void {
  const total = groups.reduce((s, g) => s + g.ms, 0);
  const max = Math.max(...groups.map((g) => g.ms), 1e-9);
  const rows = groups.map((g) => {
    const row = document.createElement('div');
    row.className = `prow${g.deleted ? ' deleted' : ''}`;
    row.dataset.testid = 'profile-row';
    row.dataset.group = g.name;
    row.dataset.ms = String(g.ms);
    row.title = `${g.name}${g.deleted ? ' (deleted)' : ''}: ${g.dispatches.join(', ') || 'no dispatches'}`;
    const share = total ? (100 * g.ms) / total : 0;
    row.innerHTML =
      `<span class="pname">${g.name}</span><span class="pbar"><span style="width:${((100 * g.ms) / max).toFixed(1)}%"></span></span>` +
      `<span class="pms">${g.deleted ? 'deleted' : ''}${g.deleted && g.ms > 0 ? ' · its projection ' : ''}${!g.deleted || g.ms > 0 ? `${g.ms.toFixed(g.ms < 10 ? 2 : 1)} ms · ${share.toFixed(0)}%` : ''}</span>`;
    return row;
  });
  const dispatches = groups.reduce((s, g) => s + g.dispatches.length, 0);
  const caption = document.createElement('div');
  caption.className = 'small';
  caption.dataset.testid = 'profile-total';
  caption.textContent = `GPU time of one image: ${total.toFixed(1)} ms over ${dispatches} dispatches on ${adapter} (timestamp queries around each dispatch; the sum of separately timed dispatches)`;
  root.replaceChildren(...rows, caption);
}

/**
 * The residual-block panel: one toggle per block, grouped by stage. Switching one off deletes the block
 * (its input goes on through the shortcut: `skipBlocks`) and `onChange` re-runs the page's image.
 * Test hooks: each toggle is [data-testid=block-toggle] with data-block = the block's name.
 */
import type { BlockInfo } from '../src/browser.js';

export interface BlockPanel {
  /** The blocks switched off, in network order. */
  skipped(): string[];
  enable(on: boolean): void;
}

export function blockPanel(root: HTMLElement, blocks: readonly BlockInfo[], onChange: () => void): BlockPanel {
  const off = new Set<string>();
  const summary = root.querySelector<HTMLElement>('.block-summary')!;
  const grid = root.querySelector<HTMLElement>('.block-grid')!;
  const restore = root.querySelector<HTMLButtonElement>('.restore')!;
  const buttons: HTMLButtonElement[] = [];
  const update = () => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(!off.has(b.dataset.block!)));
    summary.textContent = off.size
      ? `${blocks.length - off.size} of ${blocks.length} blocks on; deleted: ${[...off].join(', ')}`
      : `all ${blocks.length} blocks on`;
    restore.hidden = off.size === 0;
  };
  const stages = [...new Set(blocks.map((b) => b.stage))];
  for (const stage of stages) {
    const row = document.createElement('div');
    row.className = 'stage';
    const inStage = blocks.filter((b) => b.stage === stage);
    row.innerHTML = `<span class="stage-name">stage ${stage}<small>${inStage[0]!.outputShape.join('×')}</small></span>`;
    for (const block of inStage) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `block${block.projection ? ' projection' : ''}`;
      button.dataset.testid = 'block-toggle';
      button.dataset.block = block.name;
      button.textContent = block.name;
      button.title = `${block.layers.join(', ')}${block.projection ? `\nprojection shortcut ${block.shortcut ?? ''}: deleting the block keeps y = relu(proj(x))` : '\nidentity shortcut: deleting the block passes x on'}`;
      button.addEventListener('click', () => {
        if (off.has(block.name)) off.delete(block.name);
        else off.add(block.name);
        update();
        onChange();
      });
      buttons.push(button);
      row.append(button);
    }
    grid.append(row);
  }
  restore.addEventListener('click', () => {
    off.clear();
    update();
    onChange();
  });
  update();
  return {
    skipped: () => blocks.filter((b) => off.has(b.name)).map((b) => b.name),
    enable: (on) => {
      for (const b of [...buttons, restore]) b.disabled = !on;
    },
  };
}

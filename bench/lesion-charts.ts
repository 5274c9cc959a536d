/**
 * Charts of the lesion experiment (bench/lesion.ts): Vega-Lite specs, rendered headless by Vega to SVG and
 * by sharp (librsvg) to PNG.
 *  - <out>-single.png: top-1 accuracy with each block deleted, against the intact network's;
 *  - <out>-random.png: top-1 accuracy against the number of blocks deleted (every draw, and the mean).
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { LesionResults } from './lesion.js';

const FONT = 'DejaVu Sans, Arial, sans-serif';
// The demo's colours: orange for a stage's first block (projection shortcut), blue for identity shortcuts.
const PROJECTION = "projection shortcut (a stage's first block)";
const IDENTITY = 'identity shortcut';
const config = {
  font: FONT,
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start' as const, offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' as const, labelLimit: 400 },
  view: { stroke: null },
  background: 'white',
};

/** The Vega-Lite specs of both charts (exported for tests and for the curious). */
export function lesionSpecs(r: LesionResults): { single: TopLevelSpec; random: TopLevelSpec } {
  const intact = r.intact!.top1;
  const single = r.single.map((s) => {
    const block = r.blocks.find((b) => b.name === s.skipped[0])!;
    // the Keras name too (res4c for layer3.2), from the block's first layer
    const keras = /^res(\w+)_branch2a$/.exec(block.layers[0] ?? '')?.[1];
    return {
      block: keras ? `${block.name} (res${keras})` : block.name,
      kind: block.projection ? PROJECTION : IDENTITY,
      top1: s.top1,
      agree: s.agree,
    };
  });
  const points = [
    { k: 0, top1: intact, series: 'one network' },
    ...r.single.map((s) => ({ k: 1, top1: s.top1, series: 'one network' })),
    ...r.random.map((s) => ({ k: s.k, top1: s.top1, series: 'one network' })),
  ];
  const singleSpec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'ResNet-50: top-1 accuracy with one residual block deleted',
      subtitle: [
        `${r.images} ImageNet training-set photos (one per tenth class);`,
        `dashed line: the intact network, ${(100 * intact).toFixed(0)}%`,
      ],
    },
    width: 620,
    height: 300,
    config,
    layer: [
      {
        data: { values: single },
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          x: {
            field: 'block',
            type: 'nominal',
            sort: null,
            title: 'deleted block (torchvision name, Keras name)',
            axis: { labelAngle: -45 },
          },
          y: {
            field: 'top1',
            type: 'quantitative',
            title: 'top-1 accuracy',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
          },
          color: {
            field: 'kind',
            type: 'nominal',
            title: null,
            scale: { domain: [PROJECTION, IDENTITY], range: ['#d95f02', '#4c78a8'] },
          },
        },
      },
      {
        data: { values: single },
        mark: { type: 'text', dy: -7, fontSize: 10, font: FONT },
        encoding: {
          x: { field: 'block', type: 'nominal', sort: null },
          y: { field: 'top1', type: 'quantitative' },
          text: { field: 'top1', type: 'quantitative', format: '.0%' },
        },
      },
      {
        data: { values: [{ intact }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: '#222' },
        encoding: { y: { field: 'intact', type: 'quantitative' } },
      },
    ],
  };
  const randomSpec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'ResNet-50: top-1 accuracy with k random residual blocks deleted',
      // (lines kept short: without a canvas, Vega over-estimates text widths and widens the image)
      subtitle: [
        `dots: each set of deleted blocks (k = 1: all ${r.single.length} single blocks;`,
        `k >= 2: ${r.draws} random sets of k of the ${r.blocks.length}); line and labels: mean`,
      ],
    },
    width: 620,
    height: 300,
    config,
    data: { values: points },
    layer: [
      {
        mark: { type: 'circle', size: 55, opacity: 0.55, color: '#4c78a8' },
        encoding: {
          x: {
            field: 'k',
            type: 'quantitative',
            title: 'blocks deleted (k)',
            scale: { domain: [0, r.maxK] },
            axis: { tickMinStep: 1, format: 'd' },
          },
          y: {
            field: 'top1',
            type: 'quantitative',
            title: 'top-1 accuracy',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
          },
        },
      },
      {
        mark: { type: 'line', point: { filled: true, size: 40, color: '#d95f02' }, color: '#d95f02' },
        encoding: {
          x: { field: 'k', type: 'quantitative' },
          y: { aggregate: 'mean', field: 'top1', type: 'quantitative' },
        },
      },
      {
        mark: { type: 'text', dx: 14, dy: -10, fontSize: 11, font: FONT, color: '#a34700' },
        encoding: {
          x: { field: 'k', type: 'quantitative' },
          y: { aggregate: 'mean', field: 'top1', type: 'quantitative' },
          text: { aggregate: 'mean', field: 'top1', type: 'quantitative', format: '.0%' },
        },
      },
    ],
  };
  return { single: singleSpec, random: randomSpec };
}

/** One Vega-Lite spec -> PNG bytes (2x scale). */
export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Writes <out>-single.png and <out>-random.png; returns their paths. */
export async function drawCharts(r: LesionResults, out: string): Promise<string[]> {
  if (!r.intact) throw new Error('the results have no run of the intact network');
  const specs = lesionSpecs(r);
  const files: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const file = `${out}-${name}.png`;
    await writeFile(file, await renderPng(spec));
    files.push(file);
  }
  return files;
}

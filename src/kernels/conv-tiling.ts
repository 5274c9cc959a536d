/**
 * Tiles and split-K factors of the tiled conv main loop (shaders/conv_gemm.wgsl, for GPUs): what each
 * workgroup and invocation computes of C[M, N] = A[M, K] * B[K, N], chosen from the GEMM's size.
 */
import { ceilDiv } from './dispatch.js';

export interface ConvTile {
  /** Output rows (pixels) and vec4 column groups per workgroup, K step, invocations along M and N. */
  bm: number;
  bn4: number;
  bk: number;
  wgM: number;
  wgN: number;
}

/**
 * Tiles of the tiled main loop. Each invocation holds (bm / wgM) rows x (bn4 / wgN) vec4 columns:
 * `large` 8 x 8 outputs, `medium` 4 x 4, `narrow` 4 x 4 for convs with at most 32 output channels,
 * `skinny` 4 x 4 in 16-row tiles for GEMMs of at most 32 rows (Winograd's slices of a 7x7 image at batch
 * 1: 16 rows, which a 64-row tile would compute four times over).
 */
export const TILES = {
  large: { bm: 128, bn4: 32, bk: 8, wgM: 16, wgN: 16 },
  medium: { bm: 64, bn4: 16, bk: 16, wgM: 16, wgN: 16 },
  narrow: { bm: 64, bn4: 8, bk: 16, wgM: 16, wgN: 8 },
  skinny: { bm: 16, bn4: 16, bk: 16, wgM: 4, wgN: 16 },
} as const satisfies Record<string, ConvTile>;

/** A tile and a split-K factor (1: no split). */
export interface Tiling {
  tile: ConvTile;
  split: number;
}

/** Knobs of chooseTiling, for tuning runs (bench/tune.ts); the defaults are what the engine uses. */
export interface TilingPolicy {
  /** Workgroups a dispatch should have to fill a GPU: fewer tiles than this are split along K. */
  target: number;
  /** The tiles to choose from (default TILES). */
  tiles?: { large: ConvTile; medium: ConvTile; narrow: ConvTile; skinny: ConvTile };
  /** Smallest number of `large` tiles for which `large` is chosen. */
  largeMin: number;
  /** Fewest BK steps each split keeps. */
  minSteps: number;
}

/** Measured best of the sweep in bench/tune.ts on an H200 (bench/results/). */
export const DEFAULT_POLICY: TilingPolicy = { target: 512, largeMin: 256, minSteps: 4 };

const tilesOf = (t: ConvTile, m: number, nv: number) => ceilDiv(nv, t.bn4) * ceilDiv(m, t.bm);

/**
 * Tile and split for a GEMM of M = batch x output pixels rows, COUT columns and depth K: the 8 x 8 register
 * blocks when there are enough tiles to fill the GPU; else 4 x 4 blocks (16-row tiles for at most half a
 * 64-row tile of rows), and when even those are too few
 * (layer4 at batch 1: M = 49), K is split so that about `target` workgroups run, each over >= minSteps
 * BK steps; a second kernel adds the partial sums.
 */
export function chooseTiling(m: number, cout: number, k: number, policy: TilingPolicy = DEFAULT_POLICY): Tiling {
  const nv = ceilDiv(cout, 4);
  const { large, medium, narrow, skinny } = policy.tiles ?? TILES;
  if (nv >= large.bn4 && tilesOf(large, m, nv) >= policy.largeMin) return { tile: large, split: 1 };
  const tile = nv <= narrow.bn4 ? narrow : 2 * m <= medium.bm ? skinny : medium;
  return { tile, split: splitFor(tile, m, nv, k, policy) };
}

/** The split-K factor that brings `tile`'s workgroups near policy.target, each over >= minSteps BK steps. */
function splitFor(tile: ConvTile, m: number, nv: number, k: number, policy: TilingPolicy): number {
  return Math.max(
    1,
    Math.min(Math.floor(policy.target / tilesOf(tile, m, nv)), Math.floor(ceilDiv(k, tile.bk) / policy.minSteps)),
  );
}

/** Most tilings timed per GEMM shape by the load-time autotune (src/runtime/autotune.ts). */
export const MAX_CANDIDATES = 5;

/**
 * What the autotune times for one GEMM shape: chooseTiling's answer first, then each other tile that is
 * not mostly padding (at most twice the rows and columns there are) with the split policy gives it, and
 * the first's split halved and doubled; `sliced` GEMMs (Winograd's) never split. Distinct, at most
 * MAX_CANDIDATES.
 */
export function tilingCandidates(
  m: number,
  cout: number,
  k: number,
  sliced: boolean,
  policy: TilingPolicy = DEFAULT_POLICY,
): Tiling[] {
  const nv = ceilDiv(cout, 4);
  const chosen = chooseTiling(m, cout, k, policy);
  const withSplit = (t: Tiling): Tiling => (sliced ? { tile: t.tile, split: 1 } : t);
  const list = [withSplit(chosen)];
  for (const tile of Object.values(policy.tiles ?? TILES)) {
    if (tile.bm <= 2 * Math.max(m, 16) && tile.bn4 <= 2 * nv)
      list.push(withSplit({ tile, split: splitFor(tile, m, nv, k, policy) }));
  }
  if (!sliced && chosen.split > 1) list.push({ tile: chosen.tile, split: Math.ceil(chosen.split / 2) });
  if (!sliced && 2 * chosen.split * policy.minSteps <= ceilDiv(k, chosen.tile.bk))
    list.push({ tile: chosen.tile, split: 2 * chosen.split });
  const distinct: Tiling[] = [];
  for (const t of list) if (!distinct.some((d) => JSON.stringify(d) === JSON.stringify(t))) distinct.push(t);
  return distinct.slice(0, MAX_CANDIDATES);
}

/** A tiling in a few words: "64x64, split-K 4". */
export const describeTiling = ({ tile, split }: Tiling): string =>
  `${tile.bm}x${4 * tile.bn4}${split > 1 ? `, split-K ${split}` : ''}`;

/** Why `tiling` cannot run (a tile that does not divide among its invocations, a bad split), or undefined. */
export function tilingProblem({ tile, split }: Tiling): string | undefined {
  if (tile.bm % (4 * tile.wgM) || tile.bn4 % tile.wgN || tile.bk % 4 || !(Number.isInteger(split) && split >= 1)) {
    return `bad tiling ${JSON.stringify({ tile, split })}`;
  }
  return undefined;
}

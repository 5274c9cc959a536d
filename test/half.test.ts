/** Half-precision conversion (f16 weight storage and f16 weight files) against known encodings. */
import { expect, it } from 'vitest';
import { floatToHalf, halfToFloat, packHalves, roundToHalf } from '../src/util/half.js';

it('encodes known values, rounds to nearest even, saturates and keeps subnormals', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [1 / 3, 0x3555],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [2 ** -15, 0x0200],
  ];
  for (const [x, h] of cases) expect(floatToHalf(x), `${x}`).toBe(h);
  expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  expect(packHalves(1, -2)).toBe(0xc0003c00);
});

it('round-trips every half exactly and rounds floats within half an ulp', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaNs
    expect(floatToHalf(halfToFloat(h))).toBe(h);
  }
  let seed = 7;
  for (let i = 0; i < 10000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const x = ((seed / 2 ** 32) * 2 - 1) * 8;
    expect(Math.abs(roundToHalf(x) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
  }
});

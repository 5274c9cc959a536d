/**
 * Every WGSL file a conv's kernels are made from, imported once here: the conv kernels build from them,
 * and the load-time autotune's answers are valid for the fingerprint of them all (a change to any of
 * them can change which tiling is fastest).
 */
import constants from '../../shaders/conv_constants.wgsl';
import epilogue from '../../shaders/conv_epilogue.wgsl';
import gatherPointwise from '../../shaders/conv_gather_pointwise.wgsl';
import gatherRows from '../../shaders/conv_gather_rows.wgsl';
import gatherWindow from '../../shaders/conv_gather_window.wgsl';
import grouped from '../../shaders/conv_grouped.wgsl';
import gemm from '../../shaders/conv_gemm.wgsl';
import preact from '../../shaders/conv_preact.wgsl';
import simd from '../../shaders/conv_simd.wgsl';
import splitSum from '../../shaders/conv_splitk.wgsl';
import window from '../../shaders/conv_window.wgsl';
import weightsVec4 from '../../shaders/weights_vec4.wgsl';
import winograd4Input from '../../shaders/winograd4_input.wgsl';
import winograd4Output from '../../shaders/winograd4_output.wgsl';
import winogradInput from '../../shaders/winograd_input.wgsl';
import winogradOutput from '../../shaders/winograd_output.wgsl';
import winogradTiles from '../../shaders/winograd_tiles.wgsl';
import winogradWindow from '../../shaders/winograd_window.wgsl';
import { hashText } from './shader.js';

export const CONV_SHADERS = {
  constants,
  epilogue,
  gatherPointwise,
  gatherRows,
  gatherWindow,
  gemm,
  grouped,
  preact,
  simd,
  splitSum,
  window,
  weightsVec4,
  winogradInput,
  winogradOutput,
  winograd4Input,
  winograd4Output,
  winogradTiles,
  winogradWindow,
};

/** A fingerprint of every conv shader (FNV-1a of their texts together). */
export const CONV_SHADERS_FINGERPRINT = hashText(Object.values(CONV_SHADERS).join('\n'));

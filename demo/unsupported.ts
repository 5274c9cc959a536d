/**
 * What the page says where WebGPU cannot run, in the terms of the browser it runs in (the user agent):
 * Chrome/Edge flags, Firefox about:config prefs, or a list of browsers that have WebGPU.
 */
import { webgpuHost } from '../src/runtime/device.js';

const WHERE = 'The page must be served from https:// or localhost.';

/** navigator.gpu is missing. */
export function noWebGPU(userAgent = navigator.userAgent): string {
  const host = webgpuHost(userAgent);
  const how =
    host === 'Firefox'
      ? 'In Firefox, set dom.webgpu.enabled to true in about:config (on by default on Windows since Firefox 141).'
      : host === 'Chrome' || host === 'Edge'
        ? 'Use Chrome or Edge 113 or newer, or enable chrome://flags/#enable-unsafe-webgpu.'
        : 'Use a recent Chrome or Edge (113+), Firefox 141+ on Windows or Safari 26+; in other browsers enable WebGPU (Chrome: chrome://flags/#enable-unsafe-webgpu; Firefox: dom.webgpu.enabled).';
  return `WebGPU is not available in this browser. ${how} ${WHERE}`;
}

/** navigator.gpu is there but requestAdapter() gave nothing. */
export function noAdapter(userAgent = navigator.userAgent): string {
  const how =
    webgpuHost(userAgent) === 'Firefox'
      ? 'In Firefox, set gfx.webgpu.ignore-blocklist to true in about:config and check about:support.'
      : 'Enable WebGPU in chrome://flags/#enable-unsafe-webgpu (or start Chrome with --enable-unsafe-webgpu) and check chrome://gpu.';
  return `WebGPU is present but no GPU adapter is available: the GPU or its driver is blocklisted or disabled. ${how}`;
}

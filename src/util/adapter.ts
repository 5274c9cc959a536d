/** What an adapter's info strings say about it. */

/** True for adapters that run shaders on the CPU (Mesa lavapipe/llvmpipe, SwiftShader, WARP). */
export function isCpuAdapter(info: Partial<GPUAdapterInfo> | undefined): boolean {
  if (!info) return false;
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`;
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp|software rasterizer/i.test(text);
}

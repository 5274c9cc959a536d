/**
 * The WebGPU objects the public API takes or returns, declared by name only (empty interfaces), so the
 * declarations type-check in any program: a Node app without the DOM lib or @webgpu/types sees them as
 * opaque; where TypeScript's DOM lib (6.0 and later declare WebGPU) or @webgpu/types declares them, these
 * merge with those full declarations. Imported for its types by every entry (no code).
 */
declare global {
  interface GPUAdapter {}
  interface GPUDevice {}
  interface GPUBuffer {}
  interface GPUTexture {}
  interface GPUAdapterInfo {}
}
export {};

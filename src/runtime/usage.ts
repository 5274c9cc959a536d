/** WebGPU flag values, spelled out so that modules do not need the WebGPU globals (absent in Node until Dawn loads). */

/** GPUBufferUsage */
export const BUFFER = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  QUERY_RESOLVE: 0x200,
} as const;
/** GPUMapMode.READ */
export const MAP_MODE_READ = 0x1;
/** GPUTextureUsage.TEXTURE_BINDING */
export const TEXTURE_BINDING = 0x4;

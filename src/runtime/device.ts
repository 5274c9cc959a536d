import { GPUUnavailableError } from '../errors.js';
import { whileGPU } from './keep-alive.js';

/** Limits the engine asks for: the adapter's own, not the WebGPU defaults. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Features worth naming when an adapter says nothing else about itself. */
const NAMED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** The WebGPU implementation's host, from the user agent: Firefox, Edge, Chrome, Safari, else Node or 'unknown
 * browser'. */
export function webgpuHost(userAgent = globalThis.navigator?.userAgent ?? ''): string {
  for (const [pattern, host] of [
    [/Firefox\//, 'Firefox'],
    [/Edg\//, 'Edge'],
    [/Chrom(e|ium)\//, 'Chrome'],
    [/Safari\//, 'Safari'],
  ] as const) {
    if (pattern.test(userAgent)) return host;
  }
  return typeof process !== 'undefined' && process.versions?.node ? 'Node' : 'unknown browser';
}

/**
 * One line naming the adapter from its info strings, e.g. "nvidia / hopper / NVIDIA H100 80GB HBM3";
 * where the browser leaves them empty (Firefox does), the host and the features that matter here, e.g.
 * "WebGPU (Firefox), shader-f16, timestamp-query".
 */
export function describeAdapter(adapter: GPUAdapter, userAgent?: string): string {
  const i = adapter.info ?? ({} as Partial<GPUAdapterInfo>);
  const named = [i.vendor, i.architecture, i.description || i.device].filter(Boolean).join(' / ');
  return (
    named || [`WebGPU (${webgpuHost(userAgent)})`, ...NAMED_FEATURES.filter((f) => adapter.features.has(f))].join(', ')
  );
}

/** Requests a device from `gpu` (the high-performance adapter) with the adapter's limits. */
export async function requestDevice(gpu: GPU): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await whileGPU(gpu.requestAdapter({ powerPreference: 'high-performance' }));
  if (!adapter)
    throw new GPUUnavailableError(
      'WebGPU is available but no adapter was found (no GPU driver with Vulkan, Metal or D3D12?)',
    );
  const requiredLimits: Record<string, number> = {};
  for (const key of WANTED_LIMITS) {
    const value = adapter.limits[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  const requiredFeatures = (['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) =>
    adapter.features.has(f),
  );
  const device = await whileGPU(adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-resnet' }));
  return { adapter, device };
}

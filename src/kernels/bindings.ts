/**
 * A kernel's interface, declared once: a table names each binding, its number and its kind; `bindKernel`
 * writes the WGSL declarations of the bindings a kernel uses (with the element types of this
 * specialization) and the matching resource list the executor binds. No binding number is written
 * anywhere else, in WGSL or TypeScript.
 *
 * Activations are `read_write` storage even where a kernel only reads them: every tensor of a run lives
 * in one arena buffer, and WebGPU refuses a dispatch that binds one buffer both as read-only storage and
 * as writable storage (a usage conflict), so every arena binding is declared writable.
 */
/** What a binding holds: the per-batch `params` uniform, a tensor of the arena, or a constant (packed once). */
export type Resource =
  | { kind: 'params' }
  | { kind: 'tensor'; id: string }
  | { kind: 'constant'; name: string; pack: () => Float32Array | Uint32Array };

export type BindingKind =
  /** `params: Params` (`struct Params { batch: u32 }`, declared here once), or another uniform struct. */
  | 'uniform'
  /** A range of the activation arena: `read_write` storage (see above). */
  | 'activations'
  /** Weights, biases, scales: `read` storage. */
  | 'constants'
  /** A sampled `texture_2d<f32>` (the preprocessing kernel's source image). */
  | 'texture';

export interface BindingSlot {
  binding: number;
  kind: BindingKind;
}

/** A kernel's bindings by name (the name is the WGSL variable's). */
export type KernelInterface<N extends string = string> = Readonly<Record<N, BindingSlot>>;

/** What a kernel binds at one slot: the resource, and the WGSL element type (storage) or struct (uniform). */
export interface Bound {
  resource: Resource;
  type?: string;
}

/** The batch-size uniform every planned kernel reads. */
export const PARAMS_STRUCT = 'struct Params { batch: u32 }';

function declaration(name: string, { binding, kind }: BindingSlot, type: string | undefined): string {
  const at = `@group(0) @binding(${binding})`;
  switch (kind) {
    case 'uniform':
      return `${at} var<uniform> ${name}: ${type ?? 'Params'};`;
    case 'activations':
      return `${at} var<storage, read_write> ${name}: array<${type ?? 'f32'}>;`;
    case 'constants':
      return `${at} var<storage, read> ${name}: array<${type ?? 'f32'}>;`;
    case 'texture':
      return `${at} var ${name}: texture_2d<f32>;`;
  }
}

/**
 * The WGSL declarations of the bindings in `types` (name -> element type or uniform struct; undefined:
 * the default), in binding order, after any `enable` directives and, where the default uniform is used,
 * `struct Params`.
 */
export function declareBindings<N extends string>(
  iface: KernelInterface<N>,
  types: Partial<Record<N, string | undefined>>,
  enable: readonly string[] = [],
): string {
  const used = (Object.keys(types) as N[]).sort((a, b) => iface[a].binding - iface[b].binding);
  for (const name of used) if (!(name in iface)) throw new Error(`declareBindings: no binding named ${name}`);
  const lines = enable.map((e) => `enable ${e};`);
  if (used.some((n) => iface[n].kind === 'uniform' && !types[n])) lines.push(PARAMS_STRUCT);
  for (const name of used) lines.push(declaration(name, iface[name], types[name]));
  return `${lines.join('\n')}\n`;
}

/** The declarations of the bindings in `bound` (see declareBindings) and the executor's resource list for them. */
export function bindKernel<N extends string>(
  iface: KernelInterface<N>,
  bound: Partial<Record<N, Bound>>,
  enable: readonly string[] = [],
): { wgsl: string; resources: Array<[number, Resource]> } {
  const used = (Object.keys(bound) as N[]).filter((name) => bound[name] !== undefined);
  const wgsl = declareBindings(
    iface,
    Object.fromEntries(used.map((n) => [n, bound[n]!.type])) as Partial<Record<N, string>>,
    enable,
  );
  return { wgsl, resources: used.map((name) => [iface[name].binding, bound[name]!.resource]) };
}

/** Shorthands for the resources a table binds. */
export const params = (): Bound => ({ resource: { kind: 'params' } });
export const activations = (id: string, type = 'f32'): Bound => ({ resource: { kind: 'tensor', id }, type });
export const constants = (name: string, pack: () => Float32Array | Uint32Array, type = 'vec4<f32>'): Bound => ({
  resource: { kind: 'constant', name, pack },
  type,
});

/**
 * A kernel's WGSL, generated only when a pipeline is made from it: plans made to answer "does batch N
 * fit this device" or to lay out an arena never pay for code generation. The key names the shader
 * exactly (the op and every input of its code generation, as JSON), so pipelines are cached by key and
 * kernels of the same shape share one; test/planner.test.ts checks that equal keys mean equal code.
 */
export interface Shader {
  key: string;
  code(): string;
}

/** The shader of op `op` whose code `build` makes from exactly `inputs`. */
export function shader(op: string, inputs: object, build: () => string): Shader {
  let code: string | undefined;
  return { key: `${op}:${JSON.stringify(inputs)}`, code: () => (code ??= build()) };
}

/** A short fingerprint of a text (FNV-1a, 32 bits, and its length): for WGSL given whole, as an experiment's main
 * loop. */
export function hashText(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${h.toString(16)}:${text.length}`;
}

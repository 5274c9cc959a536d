import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

/** Values a shader template can refer to as `${NAME}`: booleans drive `#if`, numbers are pasted as text. */
export type Defines = Record<string, boolean | number | string>;

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Specializes a WGSL template from `shaders/` with `wgsl-preprocessor`.
 * The file is written like a tagged template: `#if ${RESIDUAL}` ... `#endif`, and `${TILE_M}` for constants.
 * Every placeholder must be given a value; unused defines are an error too, so typos cannot hide.
 */
export function specialize(name: string, source: string, defines: Defines): string {
  const strings: string[] = [];
  const values: Array<boolean | number | string> = [];
  const used = new Set<string>();
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    const key = match[1]!;
    if (!(key in defines)) throw new Error(`shader ${name}: no value for \${${key}}`);
    used.add(key);
    strings.push(source.slice(last, match.index));
    const value = defines[key]!;
    values.push(typeof value === 'number' && Number.isInteger(value) ? `${value}` : value);
    last = match.index! + match[0].length;
  }
  strings.push(source.slice(last));
  for (const key of Object.keys(defines)) {
    if (!used.has(key)) throw new Error(`shader ${name}: define ${key} is not used`);
  }
  const raw = Object.assign([...strings], { raw: strings });
  return wgsl(raw as unknown as TemplateStringsArray, ...values);
}

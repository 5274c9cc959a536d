/** WGSL sources in shaders/ are imported as text (esbuild `--loader:.wgsl=text`, a Vite plugin in tests). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}

declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Tagged-template WGSL preprocessor: `#if ${cond}` / `#elif` / `#else` / `#endif`. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}

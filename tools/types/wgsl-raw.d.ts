// The declaration build (tsconfig.types.json) has no vite/client types: a shader imported with `?raw`
// is its source text (esbuild's raw-text plugin and Vite both give that).
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}

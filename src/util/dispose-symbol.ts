/**
 * `Symbol.dispose` where the runtime lacks it (browsers before Chrome 134 / Safari 26): the library's
 * resources (models, engines, tensors) declare `[Symbol.dispose]` so `using` releases them, and both
 * TypeScript's and esbuild's lowering of `using` look the key up on `Symbol` at run time. The fallback
 * is the registered symbol esbuild's helper itself uses, so code compiled either way agrees.
 * Imported for its side effect by every module that defines such a class, before the class body runs.
 */
const symbols = Symbol as unknown as { dispose?: symbol };
symbols.dispose ??= Symbol.for('Symbol.dispose');

export {};

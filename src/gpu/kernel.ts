import { reflectWgsl, type WgslReflection } from './wgsl-reflect.js';

/**
 * A kernel is one `.wgsl` file plus this small descriptor. Everything about its interface
 * (uniform fields, bindings, entry points, override constants) is read from the WGSL itself,
 * so there is one definition of each kernel's parameters.
 */
export interface Kernel {
  /** Label prefix for pipelines and bind groups; also the pipeline-cache key. */
  readonly name: string;
  readonly source: string;
  readonly reflection: WgslReflection;
}

/** A kernel from its name and WGSL source; its interface is reflected from the WGSL on first use. */
export function defineKernel(name: string, source: string): Kernel {
  let reflection: WgslReflection | undefined;
  return {
    name,
    source,
    // Parsed lazily so importing the kernel library costs nothing until a kernel is used.
    get reflection() {
      return (reflection ??= reflectWgsl(source, name));
    },
  };
}

/** Values for a kernel's `struct Params`, by field name. */
export type ParamValues = Record<string, number>;

/** Override-constant values: compile-time specialisation, part of the pipeline-cache key. */
export type ConstantValues = Record<string, number>;

/** Workgroup counts of a dispatch: x, or [x, y?, z?]. */
export type Workgroups = number | readonly [number, number?, number?];

/**
 * A named enum whose values the WGSL defines (`const OP_ADD: u32 = 0u;`), read from the kernel's
 * source so the numbers are written once. `names` are the TypeScript names; `OP_` + `addRelu` is
 * `OP_ADD_RELU`. The first lookup checks that the shader declares exactly these names with that prefix.
 */
export function wgslEnum<K extends string>(kernel: Kernel, prefix: string, names: readonly K[]): (name: K) => number {
  let ids: Map<string, number> | undefined;
  return (name) => {
    ids ??= readEnum(kernel, prefix, names);
    return ids.get(name)!;
  };
}

function readEnum(kernel: Kernel, prefix: string, names: readonly string[]): Map<string, number> {
  const constants = kernel.reflection.constants;
  const wgslName = (n: string) => prefix + n.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  const declared = [...constants.keys()].filter((c) => c.startsWith(prefix));
  const expected = names.map(wgslName);
  const missing = expected.filter((c) => !constants.has(c));
  const extra = declared.filter((c) => !expected.includes(c));
  if (missing.length || extra.length) {
    throw new Error(
      `kernel ${kernel.name}: the ${prefix}* constants do not match the TypeScript names` +
        `${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; not known to TypeScript ${extra.join(', ')}` : ''}`,
    );
  }
  const values = expected.map((c) => constants.get(c)!);
  if (new Set(values).size !== values.length) throw new Error(`kernel ${kernel.name}: two ${prefix}* constants share a value`);
  return new Map(names.map((n, i) => [n, values[i]]));
}

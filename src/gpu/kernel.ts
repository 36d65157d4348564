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

/**
 * Just enough WGSL reflection to make a `.wgsl` file the single source of truth for its kernel:
 * the `struct Params` fields (so the TypeScript side packs uniforms by name, never by position),
 * the storage bindings, and which bindings each entry point statically uses (so every entry point
 * of a file gets an exact explicit bind-group layout).
 *
 * Also the module-scope `const NAME: u32 = 3u;` declarations, so a named op enum (`OP_ADD`,
 * `ACT_SILU`) is defined once, in the WGSL, and read by the TypeScript that selects it (`wgslEnum`).
 *
 * Conventions every shader in `shaders/` follows:
 *   - `@group(0) @binding(0) var<uniform> params: Params;` when it has scalar parameters; a file whose
 *     entry points need different parameters declares one uniform per struct (each entry point reads
 *     at most one), and each entry point packs the fields of the struct it reads;
 *   - uniform structs hold only u32 / i32 / f32 scalars;
 *   - storage buffers are `var<storage, read>` or `var<storage, read_write>` arrays in group 0.
 */

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface ParamField {
  name: string;
  type: ScalarType;
}

export interface BindingDecl {
  binding: number;
  name: string;
  kind: 'uniform' | 'read' | 'read_write';
  elementType: string;
}

export interface EntryPointInfo {
  name: string;
  /** Bindings referenced by the entry point or any function it calls, sorted by binding index. */
  bindings: BindingDecl[];
  /** The uniform struct this entry point reads (null when it reads none) and its fields. */
  paramsStruct: string | null;
  params: ParamField[];
}

export interface WgslReflection {
  /** Fields of `struct Params`. */
  params: ParamField[];
  bindings: BindingDecl[];
  entryPoints: Map<string, EntryPointInfo>;
  overrides: string[];
  /** Module-scope integer constants (`const OP_ADD: u32 = 0u;`). */
  constants: Map<string, number>;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

function parseStruct(src: string, struct: string, kernel: string): ParamField[] {
  const m = new RegExp(`struct\\s+${struct}\\s*\\{([^}]*)\\}`).exec(src);
  if (!m) return [];
  const fields: ParamField[] = [];
  for (const part of m[1].split(',')) {
    const f = part.trim();
    if (!f) continue;
    const fm = /^(\w+)\s*:\s*(\w+)$/.exec(f);
    if (!fm || !['u32', 'i32', 'f32'].includes(fm[2])) {
      throw new Error(`kernel ${kernel}: struct ${struct} field "${f}" must be a u32, i32 or f32 scalar`);
    }
    fields.push({ name: fm[1], type: fm[2] as ScalarType });
  }
  return fields;
}

function parseBindings(src: string, kernel: string): BindingDecl[] {
  const re =
    /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(uniform|storage\s*,\s*read_write|storage\s*,\s*read|storage)\s*>\s*(\w+)\s*:\s*([^;]+);/g;
  const out: BindingDecl[] = [];
  for (const m of src.matchAll(re)) {
    const space = m[2].replace(/\s+/g, '');
    const kind = space === 'uniform' ? 'uniform' : space === 'storage,read_write' ? 'read_write' : 'read';
    out.push({ binding: Number(m[1]), name: m[3], kind, elementType: m[4].trim() });
  }
  const seen = new Set<number>();
  for (const b of out) {
    if (seen.has(b.binding)) throw new Error(`kernel ${kernel}: binding ${b.binding} declared twice`);
    seen.add(b.binding);
  }
  return out.sort((a, b) => a.binding - b.binding);
}

/** Function name -> body text, found by brace matching after each `fn name(...)`. */
function functionBodies(src: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const re = /\bfn\s+(\w+)\s*\(/g;
  for (const m of src.matchAll(re)) {
    const open = src.indexOf('{', m.index! + m[0].length);
    if (open < 0) continue;
    let depth = 0;
    let i = open;
    for (; i < src.length; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}' && --depth === 0) break;
    }
    bodies.set(m[1], src.slice(open, i + 1));
  }
  return bodies;
}

/** Identifiers referenced in `text`, excluding member accesses such as `gid.y`. */
function identifiers(text: string): Set<string> {
  return new Set(text.match(/(?<![.\w])[A-Za-z_]\w*/g) ?? []);
}

/** Module-scope `const NAME[: u32|i32] = <integer>;` (function bodies are left out). */
function parseConstants(src: string, bodies: Map<string, string>): Map<string, number> {
  let moduleScope = src;
  for (const body of bodies.values()) moduleScope = moduleScope.replace(body, ' ');
  const out = new Map<string, number>();
  for (const m of moduleScope.matchAll(/\bconst\s+(\w+)\s*(?::\s*[ui]32\s*)?=\s*(-?\d+)[ui]?\s*;/g)) out.set(m[1], Number(m[2]));
  return out;
}

export function reflectWgsl(source: string, kernel: string): WgslReflection {
  const src = stripComments(source);
  const params = parseStruct(src, 'Params', kernel);
  const bindings = parseBindings(src, kernel);
  const overrides = [...src.matchAll(/\boverride\s+(\w+)/g)].map((m) => m[1]);
  const uniformFields = new Map(
    bindings.filter((b) => b.kind === 'uniform').map((b) => [b.name, parseStruct(src, b.elementType, kernel)] as const),
  );
  const bodies = functionBodies(src);
  const entryNames = [...src.matchAll(/@compute[\s\S]*?\bfn\s+(\w+)/g)].map((m) => m[1]);

  const entryPoints = new Map<string, EntryPointInfo>();
  for (const entry of entryNames) {
    // Transitive closure over called functions: a binding used by a helper counts for the entry point.
    const used = new Set<string>();
    const stack = [entry];
    const visited = new Set<string>();
    while (stack.length) {
      const fn = stack.pop()!;
      if (visited.has(fn)) continue;
      visited.add(fn);
      for (const id of identifiers(bodies.get(fn) ?? '')) {
        used.add(id);
        if (bodies.has(id)) stack.push(id);
      }
    }
    const own = bindings.filter((b) => used.has(b.name));
    const uniforms = own.filter((b) => b.kind === 'uniform');
    if (uniforms.length > 1) {
      throw new Error(
        `kernel ${kernel}: entry point ${entry} reads ${uniforms.length} uniforms (${uniforms.map((b) => b.name).join(', ')}); one at most`,
      );
    }
    const uniform = uniforms[0];
    entryPoints.set(entry, {
      name: entry,
      bindings: own,
      paramsStruct: uniform ? uniform.elementType : null,
      params: uniform ? uniformFields.get(uniform.name)! : [],
    });
  }
  return { params, bindings, entryPoints, overrides, constants: parseConstants(src, bodies) };
}

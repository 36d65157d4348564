/**
 * Release scopes: `engine.scope(fn)` releases every tensor allocated while `fn` runs, except what `fn`
 * returns (found in the return value: a tensor, or tensors inside arrays, Maps, Sets and objects) and
 * what it marks with `engine.keep(t)`. Both go to the enclosing scope, or to the caller when there is
 * none. It happens whether `fn` returns or throws, so a refused or failed call gives back every byte it
 * took: a method stays as short as its formula and an error path needs no release list.
 *
 * `engine.persist(t)` takes a tensor out of every scope for good: caches that outlive the call (packed
 * conv weights, model parameters) are owned by whoever built them.
 *
 * Invariant: scopes nest. One engine runs one GPU job at a time (its command recorder assumes it
 * anyway); two scoped calls interleaved on one engine (a Promise.all over methods) would close out of
 * order, which is refused loudly instead of releasing the other call's tensors.
 */
import { GpuError } from './errors.js';
import { Tensor, type Storage } from './tensor.js';

/** How deep a return value is searched for tensors (a Model: model -> graph -> nodes -> node -> weight). */
const MAX_DEPTH = 6;

interface Scope {
  readonly owned: Map<Storage, Tensor>;
}

export class ScopeStack {
  private readonly stack: Scope[] = [];

  constructor(private readonly release: (t: Tensor) => void) {}

  get depth(): number {
    return this.stack.length;
  }

  /** Called for every new tensor: the innermost open scope owns it. */
  track(t: Tensor): void {
    const top = this.stack[this.stack.length - 1];
    if (top) top.owned.set(t.storage, t);
  }

  run<T>(fn: () => T): T {
    const scope: Scope = { owned: new Map() };
    this.stack.push(scope);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.close(scope, undefined);
      throw err;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.close(scope, value);
          return value;
        },
        (err: unknown) => {
          this.close(scope, undefined);
          throw err;
        },
      ) as T;
    }
    this.close(scope, result);
    return result;
  }

  /** Moves `t` from the innermost scope that owns it to the one around it (or out of scopes). */
  keep(t: Tensor): void {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      if (this.stack[i].owned.delete(t.storage)) {
        this.stack[i - 1]?.owned.set(t.storage, t);
        return;
      }
    }
  }

  /** Takes `t` out of every scope: its owner releases it. */
  persist(t: Tensor): void {
    for (const s of this.stack) s.owned.delete(t.storage);
  }

  private close(scope: Scope, result: unknown): void {
    const index = this.stack.lastIndexOf(scope);
    if (index !== this.stack.length - 1) {
      // Release nothing: the tensors may belong to the call that is still running.
      if (index >= 0) this.stack.splice(index, 1);
      throw new GpuError(
        'release scopes closed out of order: two scoped GPU calls ran at the same time on one engine; await one before starting the next',
      );
    }
    this.stack.pop();
    const parent = this.stack[this.stack.length - 1];
    for (const storage of [...scope.owned.keys()]) if (storage.released) scope.owned.delete(storage);
    for (const t of returnedTensors(result, scope.owned)) {
      scope.owned.delete(t.storage);
      parent?.owned.set(t.storage, t);
    }
    for (const t of scope.owned.values()) this.release(t);
  }
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Tensors of `owned` reachable from `value`; iterative (no recursion over caller data), cycle-safe. */
function returnedTensors(value: unknown, owned: Map<Storage, Tensor>): Tensor[] {
  if (owned.size === 0 || value === undefined || value === null) return [];
  const found = new Map<Storage, Tensor>();
  const seen = new Set<object>();
  const work: [unknown, number][] = [[value, 0]];
  while (work.length) {
    const [v, depth] = work.pop()!;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) {
      if (owned.has(v.storage)) found.set(v.storage, v);
      // Every tensor the scope still holds is returned: nothing left to look for.
      if (found.size === owned.size) break;
      continue;
    }
    if (depth >= MAX_DEPTH || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || isEngineLike(v)) continue;
    const children = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : v instanceof Set ? [...v] : Object.values(v);
    for (const c of children) if (typeof c === 'object' && c !== null) work.push([c, depth + 1]);
  }
  return [...found.values()];
}

/** The engine itself (reachable from a Model or a Trace) holds every live tensor: never search it. */
function isEngineLike(v: object): boolean {
  return 'pool' in v && 'device' in v;
}

/** Anything whose first argument leads to an engine: the engine itself or an object holding it (a Model). */
type EngineOwner = { scope<T>(fn: () => T): T } | { engine: { scope<T>(fn: () => T): T } };

/**
 * `fn` run in a release scope on the engine of its first argument (an Engine or a Model): the form every
 * method and kernel wrapper with temporaries is declared in, `export const m = scoped(async function m(model, x) {...})`.
 */
export function scoped<A extends [EngineOwner, ...unknown[]], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    const owner = args[0];
    const engine = 'engine' in owner ? owner.engine : owner;
    return engine.scope(() => fn(...args));
  };
}

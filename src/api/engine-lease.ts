/**
 * The engine that the high-level API shares between models loaded without one. It is acquired by the
 * first `loadModel` and destroyed when the last model holding it is released, so a script that
 * releases what it loaded leaves no GPU device behind, and two models share one device.
 */
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';

interface SharedEngine {
  engine: Promise<Engine>;
  holders: number;
}

let shared: SharedEngine | null = null;

/** A hold on the shared engine; `giveBack` is idempotent and destroys the engine with its last holder. */
export interface EngineLease {
  engine: Engine;
  giveBack(): void;
}

export async function leaseSharedEngine(): Promise<EngineLease> {
  const entry = (shared ??= { engine: acquireEngine(), holders: 0 });
  entry.holders++;
  let engine: Engine;
  try {
    engine = await entry.engine;
  } catch (err) {
    // No adapter, say: forget the failed attempt so a later call tries again.
    entry.holders--;
    if (shared === entry) shared = null;
    throw err;
  }
  let held = true;
  return {
    engine,
    giveBack() {
      if (!held) return;
      held = false;
      if (--entry.holders > 0) return;
      if (shared === entry) shared = null;
      engine.destroy();
    },
  };
}

/**
 * Builds a model on `engine` when the caller gives one (the caller keeps owning it), else on the
 * shared engine, which the model then holds until it is released.
 */
export async function buildOnEngine(engine: Engine | undefined, build: (engine: Engine) => Model): Promise<Model> {
  if (engine) return build(engine);
  const lease = await leaseSharedEngine();
  try {
    const model = build(lease.engine);
    model.onRelease(() => lease.giveBack());
    return model;
  } catch (err) {
    lease.giveBack();
    throw err;
  }
}

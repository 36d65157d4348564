/**
 * Release scopes: everything a call allocates and does not return is given back, also when it throws;
 * every method gives back all its bytes when an allocation fails at any point inside it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuError, GpuLimitError } from '../../src/gpu/errors.js';
import { modelFromFile, type Model } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { l2caf } from '../../src/methods/l2caf.js';
import { METHODS } from '../../src/methods/registry.js';
import { testEngine } from '../util/gpu.js';

const e = await testEngine();
const live = () => e.pool.stats.liveBytes;
const acquires = () => e.pool.stats.createdBuffers + e.pool.stats.reusedBuffers;

describe('release scopes', () => {
  it('release what is not returned, keep what is, and nest', async () => {
    const before = live();
    const kept = e.scope(() => {
      e.zeros([4]);
      const inner = e.scope(() => {
        e.zeros([8]);
        return { a: [e.zeros([16])], b: new Map([['x', e.zeros([32])]]) };
      });
      e.zeros([64]);
      return inner.a[0];
    });
    expect(live()).toBe(before + 256); // one 16-float tensor, in a 256-byte size class
    e.release(kept);
    expect(live()).toBe(before);
  });

  it('give everything back when the function throws, sync or async', async () => {
    const before = live();
    expect(() =>
      e.scope(() => {
        e.zeros([1000]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    await expect(
      e.scope(async () => {
        e.zeros([1000]);
        await e.finish();
        e.zeros([2000]);
        throw new Error('late boom');
      }),
    ).rejects.toThrow('late boom');
    expect(live()).toBe(before);
  });

  it('keep moves a tensor to the enclosing scope; persist takes it out of every scope', () => {
    const before = live();
    let persisted = null as unknown as ReturnType<typeof e.zeros>;
    e.scope(() => {
      e.scope(() => void e.keep(e.zeros([10])));
      persisted = e.persist(e.zeros([20]));
    });
    expect(live()).toBe(before + 256);
    e.release(persisted);
    expect(live()).toBe(before);
  });

  it('refuse to close out of order (two scoped calls at once on one engine) instead of freeing the other call', async () => {
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    const outer = e.scope(async () => {
      e.zeros([4]);
      await gate;
    });
    const other = e.scope(async () => {
      e.zeros([4]);
      await new Promise((r) => setTimeout(r, 1));
    });
    release();
    const results = await Promise.allSettled([outer, other]);
    expect(results.some((r) => r.status === 'rejected' && r.reason instanceof GpuError && /out of order/.test(String(r.reason)))).toBe(
      true,
    );
  });
});

async function loadDefault(name: string): Promise<Model> {
  return modelFromFile(e, await readSafetensorsFile(join('weights', name)));
}

describe('every method gives back all it allocated when an allocation fails inside it', async () => {
  const models = { resnet: await loadDefault('default-resnet.safetensors'), vgg: await loadDefault('default-vgg.safetensors') };
  const x = (m: Model) => {
    const [h, w] = m.info.inputSize;
    return e.upload(
      Float32Array.from({ length: 2 * 3 * h * w }, (_, i) => Math.sin(i)),
      [2, 3, h, w],
      'images',
    );
  };
  const options = { masks: 64, samples: 3, steps: 3 };
  const run = (name: string, m: Model, input: ReturnType<typeof x>) =>
    name === 'l2caf' ? l2caf(m, input, { maxSteps: 3 }) : METHODS.find((k) => k.name === name)!.run(m, input, options);

  for (const method of METHODS) {
    it(method.name, async () => {
      const model = method.supports && !method.supports(models.vgg) ? models.resnet : models.vgg;
      const input = x(model);
      // A clean run first: it fills the pipeline and weight caches, and counts the allocations.
      e.release((await run(method.name, model, input)).maps);
      const before = live();
      const start = acquires();
      e.release((await run(method.name, model, input)).maps);
      const total = acquires() - start;
      expect(live()).toBe(before);
      for (const k of new Set([0, 1, Math.floor(total / 3), Math.floor(total / 2), total - 1])) {
        e.simulateAllocationFailure(k);
        await expect(run(method.name, model, input), `${method.name}, allocation ${k} of ${total}`).rejects.toThrow(GpuLimitError);
        expect({ method: method.name, k, live: live() }).toEqual({ method: method.name, k, live: before });
      }
      e.simulateAllocationFailure(null);
      e.release(input);
    });
  }
});

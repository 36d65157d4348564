/**
 * Weights are checked at load: non-finite values are named by tensor (an opt-out loads them anyway),
 * integer tensors never become float parameters, and a model whose finite weights overflow float32 is
 * refused by the load-time probe, in the CLI and in the library's `loadModel` (path, bytes, Blob), and a
 * file over the size limit is refused before it is read.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../src/cli/load-model.js';
import { loadModel } from '../../src/api/node-io.js';
import { fetchSafetensors } from '../../src/io/safetensors.js';
import { modelFromFile } from '../../src/graph/model.js';
import { WeightsError } from '../../src/graph/weights.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import { readFileSync } from 'node:fs';
import { testEngine } from '../util/gpu.js';
import { makeFixtures } from '../cli/cli-fixtures.js';
import { makeHostileFiles } from './hostile-files.js';

const e = await testEngine();
const fx = await makeFixtures('lt-weights-');
afterAll(() => fx.cleanup());
const files = makeHostileFiles(join(fx.dir, 'inputs'));
const parse = (key: string) => parseSafetensors(readFileSync(files[key]), files[key]);

describe('weights checked at load', () => {
  it('names the tensor holding NaN or infinity, and loads it when asked to', () => {
    expect(() => modelFromFile(e, parse('NAN_SAFETENSORS'))).toThrow(
      /tensor "features.3.weight" \(layer features.3\) has 1 non-finite value .*index 17/,
    );
    expect(() => modelFromFile(e, parse('INF_SAFETENSORS'))).toThrow(WeightsError);
    const live = e.pool.stats.liveBytes;
    const model = modelFromFile(e, parse('NAN_SAFETENSORS'), { allowNonFinite: true });
    model.release();
    expect(e.pool.stats.liveBytes).toBe(live);
  });

  it('refuses integer tensors for float parameters', () => {
    expect(() => modelFromFile(e, parse('INT_WEIGHTS_SAFETENSORS'))).toThrow(/"features.0.weight" is stored as I32, an integer type/);
  });

  it('refuses finite weights that overflow float32, naming the first layer that does, and frees the model', async () => {
    const live = e.pool.stats.liveBytes;
    await expect(loadModelFile(e, files.HUGE_SCALE_SAFETENSORS)).rejects.toThrow(/overflows float32 at layer features.3/);
    expect(e.pool.stats.liveBytes).toBe(live);
    const ok = await loadModelFile(e, files.HUGE_SCALE_SAFETENSORS, { allowNonFinite: true });
    ok.release();
  });

  it('the library refuses the same overflowing weights from a path, bytes and a Blob, unless allowNonFinite', async () => {
    const live = e.pool.stats.liveBytes;
    const bytes = readFileSync(files.HUGE_SCALE_SAFETENSORS);
    for (const source of [files.HUGE_SCALE_SAFETENSORS, new Uint8Array(bytes), new Blob([bytes])]) {
      await expect(loadModel(source, { engine: e })).rejects.toThrow(/overflows float32 at layer features.3.*allowNonFinite/);
    }
    expect(e.pool.stats.liveBytes).toBe(live);
    const ok = await loadModel(files.HUGE_SCALE_SAFETENSORS, { engine: e, allowNonFinite: true });
    ok.release();
    await expect(loadModel(new Uint8Array(readFileSync(files.NAN_SAFETENSORS)), { engine: e })).rejects.toThrow(/non-finite/);
  });

  it('a download is refused by its declared size before its body is read', async () => {
    const served = new Response(new Uint8Array(16), { headers: { 'content-length': String(2 ** 31) } });
    const fetchOnce = globalThis.fetch;
    globalThis.fetch = async () => served;
    try {
      await expect(fetchSafetensors('http://example.invalid/w.safetensors', undefined, { maxBytes: 2 ** 30 })).rejects.toThrow(
        /is 2.00 GiB, over the 1.00 GiB/,
      );
    } finally {
      globalThis.fetch = fetchOnce;
    }
  });
});

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classMeansCommand } from '../../src/cli/class-means.js';
import { defaultInfo, hasClassNames } from '../../src/graph/model-info.js';
import { writeSafetensorsFile } from '../../src/io/safetensors-node.js';
import { cifarFile } from '../util/shared-data.js';

const dir = mkdtempSync(join(tmpdir(), 'lt-class-means-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layertracer class-means: labels must mean what the model means', () => {
  it('tells placeholder class names from real ones', () => {
    expect(hasClassNames(defaultInfo('cifar', 10))).toBe(false);
    expect(hasClassNames({ classes: ['class 0', 'dog'] })).toBe(true);
  });

  it('refuses a labelled set that names its classes differently from the model, and writes nothing', async () => {
    // Twenty black images labelled 0..9 twice, under names in another order than CIFAR-10's.
    const names = ['dog', 'cat', 'airplane', 'automobile', 'bird', 'deer', 'frog', 'horse', 'ship', 'truck'];
    const data = join(dir, 'renamed.safetensors');
    await writeSafetensorsFile(
      data,
      {
        images: { dtype: 'U8', shape: [20, 32, 32, 3], data: new Uint8Array(20 * 32 * 32 * 3) },
        labels: { dtype: 'I32', shape: [20], data: Int32Array.from({ length: 20 }, (_, i) => i % 10) },
      },
      { classes: JSON.stringify(names) },
    );
    const out = join(dir, 'means.safetensors');
    await expect(classMeansCommand(['--weights', cifarFile('resnet20.safetensors'), '--data', data, '--out', out])).rejects.toThrow(
      /names its classes \[dog, cat, .*\] but the model's are \[airplane, automobile/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

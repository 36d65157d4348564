/**
 * The antialiased input resize against PIL: test/references/resize/ holds a picture made to alias
 * (zone plate, one-pixel stripes, a checkerboard) and PIL's Image.resize(BILINEAR) of it at several
 * sizes (tools/make_resize_reference.py). torchvision's Resize does exactly that to PIL images, so a
 * model fed by LayerTracer sees what it saw in PyTorch.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readImageFile } from '../../src/image/decode-node.js';
import type { RgbImage } from '../../src/image/image.js';
import { preprocessForModel } from '../../src/image/preprocess.js';
import { resizeImage, resizeImageAntialiased } from '../../src/image/resize.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';

const DIR = fileURLToPath(new URL('../references/resize/', import.meta.url));
const input = await readImageFile(`${DIR}zoneplate.png`);
const reference = await readSafetensorsFile(`${DIR}pil-bilinear.safetensors`);

function pilOutput(name: string): RgbImage {
  const [height, width] = reference.info(name).shape;
  return { width, height, data: new Uint8Array(reference.getF32(name)) };
}

/** Worst absolute difference in grey levels and where it is. */
function worst(a: RgbImage, b: RgbImage): { diff: number; at: string } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let diff = 0;
  let at = '';
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > diff) [diff, at] = [d, `x ${Math.floor(i / 3) % a.width}, y ${Math.floor(i / 3 / a.width)}, channel ${i % 3}`];
  }
  return { diff, at };
}

describe('antialiased resize (PIL bilinear)', () => {
  const sizes = reference.names().filter((n) => n.startsWith('out_'));

  it('has a reference for several sizes', () => {
    expect(sizes.length).toBeGreaterThanOrEqual(5);
    expect([input.width, input.height]).toEqual([128, 96]);
  });

  for (const name of sizes) {
    it(`matches PIL within one grey level at ${name.slice(4)}`, () => {
      const want = pilOutput(name);
      const got = resizeImageAntialiased(input, want.width, want.height);
      const w = worst(got, want);
      expect(w.diff, `worst difference ${w.diff} grey levels at ${w.at}`).toBeLessThanOrEqual(1);
    });
  }

  it('is what preprocessing feeds the model (the sampling resize aliases by tens of grey levels)', () => {
    const want = pilOutput('out_32x32');
    const { image } = preprocessForModel(input, { inputSize: [32, 32], mean: [0, 0, 0], std: [1, 1, 1] });
    expect(worst(image, want).diff).toBeLessThanOrEqual(1);
    // The antialias-free resize on the same picture: the gap this resize closes.
    expect(worst(resizeImage(input, 32, 32), want).diff).toBeGreaterThan(30);
  });

  it('returns a copy at the same size and rejects bad sizes', () => {
    const same = resizeImageAntialiased(input, 128, 96);
    expect(same.data).toEqual(input.data);
    expect(same.data).not.toBe(input.data);
    expect(() => resizeImageAntialiased(input, 0, 5)).toThrow(/target width must be a positive integer/);
  });
});

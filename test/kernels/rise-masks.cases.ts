import { generateMaskedInputs, generateRiseMasks } from '../../src/kernels/rise-masks.js';
import { riseMaskRef } from '../reference/rise-masks.js';
import { expectClose, randomArray } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

// RISE masks against the CPU reference: one value per invocation (widths that are not whole vec4s) and
// one row per invocation (generate4), over several batches and seeds; and the masked inputs written in
// the same pass (generate_masked4) or, on odd widths, by a broadcast multiply after.
const MASK_CASES: { h: number; w: number; s: number; seed: number; first: number }[] = [
  { h: 32, w: 32, s: 7, seed: 0, first: 0 },
  { h: 17, w: 23, s: 5, seed: 12345, first: 40 },
  { h: 224, w: 224, s: 7, seed: 3, first: 4000 },
];

function expectedMasks(spec: { s: number; p: number; seed: number }, first: number, count: number, h: number, w: number): Float32Array {
  const out = new Float32Array(count * h * w);
  for (let i = 0; i < count; i++) out.set(riseMaskRef(first + i, spec.s, spec.p, spec.seed, h, w), i * h * w);
  return out;
}

export const riseMaskCases: KernelCase[] = MASK_CASES.map<KernelCase>(({ h, w, s, seed, first }) => ({
  name: `rise masks ${h}x${w}, s=${s}, seed ${seed}, masks ${first}..${first + 5}`,
  async run(e) {
    const count = 6;
    const spec = { s, p: 0.5, seed };
    const masks = generateRiseMasks(e, spec, first, count, [h, w]);
    const got = await masks.readF32();
    e.release(masks);
    expectClose(got, expectedMasks(spec, first, count, h, w), {
      atol: 1e-5,
      rtol: 0,
      shape: [count, h, w],
      what: `rise masks ${h}x${w} s=${s}`,
    });
  },
}));

const MASKED_CASES: { lead: number[]; h: number; w: number; first: number }[] = [
  { lead: [2, 3], h: 8, w: 12, first: 5 },
  { lead: [3], h: 9, w: 7, first: 0 },
];

riseMaskCases.push(
  ...MASKED_CASES.map<KernelCase>(({ lead, h, w, first }) => ({
    name: `rise masked inputs: 3 masks of ${h}x${w} on images (${lead.join(', ')}, ${h}, ${w})`,
    async run(e) {
      const count = 3;
      const spec = { s: 4, p: 0.5, seed: 21 };
      const shape = [...lead, h, w];
      const planes = lead.reduce((a, b) => a * b, 1);
      const imagesHost = randomArray(planes * h * w, 3);
      const images = e.upload(imagesHost, shape);
      const { masks, masked } = generateMaskedInputs(e, spec, first, count, images);
      if (masked.shape.join() !== [count, ...shape].join()) {
        throw new Error(`rise masked inputs: shape [${masked.shape.join(', ')}], expected [${[count, ...shape].join(', ')}]`);
      }
      const [gotMasks, gotMasked] = [await masks.readF32(), await masked.readF32()];
      e.releaseAll(images, masks, masked);
      const wantMasks = expectedMasks(spec, first, count, h, w);
      const wantMasked = new Float32Array(count * planes * h * w);
      for (let i = 0; i < count; i++) {
        for (let k = 0; k < planes * h * w; k++) wantMasked[i * planes * h * w + k] = wantMasks[i * h * w + (k % (h * w))] * imagesHost[k];
      }
      const what = `${count} masks of ${h}x${w} on ${planes} planes`;
      expectClose(gotMasks, wantMasks, { atol: 1e-5, rtol: 0, shape: [count, h, w], what: `${what}: masks` });
      expectClose(gotMasked, wantMasked, { atol: 1e-5, rtol: 1e-6, shape: [count, planes, h, w], what: `${what}: masked` });
    },
  })),
);

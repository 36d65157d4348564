/**
 * Case builders: one function per op turns a row of bench/grid.ts into a BenchCase. This is the only
 * file that calls the kernel APIs, so when a kernel's signature changes only this file follows.
 *
 * FLOP and byte counts are written here from the math (not taken from the kernels' own helpers),
 * so the bench does not trust the code it measures. Bytes are the minimum traffic: every input read
 * once and every output written once, in fp32 (u32 for max-pool switches).
 */
import type { Engine } from '../src/gpu/engine.js';
import { Tensor } from '../src/gpu/tensor.js';
import type { Conv2dVariant as ConvVariant } from '../src/kernels/conv2d.js';
import type { MatmulVariant } from '../src/kernels/matmul.js';
import { CaseUnsupported, type BenchCase, type BenchInstance } from './case.js';
import { kernels, MODULE_FILES, type KernelModuleName } from './kernels.js';

const F32 = 4;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Deterministic values in [-scale, scale): fast (xorshift), no denormals, no NaNs. */
function fillArray(n: number, seed: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = (s >>> 0) * k - scale;
  }
  return a;
}

function filled(e: Engine, shape: readonly number[], seed: number, label: string, scale = 1): Tensor {
  return e.upload(fillArray(numel(shape), seed, scale), shape, `bench.${label}`);
}

function outSize(size: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Releases whatever an op returned: a Tensor, or an object/array of Tensors. */
function releaseOutputs(e: Engine, out: unknown): void {
  if (!out) return;
  if (out instanceof Tensor) {
    e.release(out);
    return;
  }
  if (typeof out === 'object') for (const v of Object.values(out as object)) releaseOutputs(e, v);
}

/** A BenchInstance whose run calls `op` and frees its outputs; cleanup frees `inputs`. */
function instance(e: Engine, inputs: Tensor[], op: () => unknown): BenchInstance {
  return {
    run: () => releaseOutputs(e, op()),
    cleanup: () => e.releaseAll(...inputs),
  };
}

function moduleFile(m: KernelModuleName): string {
  return MODULE_FILES[m];
}

// ---------------------------------------------------------------- conv2d

/** A conv layer of a real network at its real input size. */
export interface ConvLayer {
  model: string;
  /** torchvision state_dict name, e.g. `layer1.0.conv2`, `features.7`. */
  layer: string;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  /** Input height = width. */
  hw: number;
  bias: boolean;
  quick?: boolean;
}

/** Kernel families of conv2d / matmul; a case without one runs what the engine picks for the adapter. */
export type { Conv2dVariant as ConvVariant } from '../src/kernels/conv2d.js';
export type { MatmulVariant } from '../src/kernels/matmul.js';

function convGeometry(l: ConvLayer, n: number) {
  const ho = outSize(l.hw, l.k, l.stride, l.pad);
  const x = [n, l.cin, l.hw, l.hw];
  const w = [l.cout, l.cin, l.k, l.k];
  const y = [n, l.cout, ho, ho];
  const flops = 2 * n * l.cout * ho * ho * l.cin * l.k * l.k;
  return { x, w, y, flops };
}

function convLabel(l: ConvLayer): string {
  return `${l.model}.${l.layer} ${l.k}x${l.k}${l.stride > 1 ? `/${l.stride}` : ''} ${l.cin}->${l.cout} @${l.hw}`;
}

function variantTag(variant: string | undefined): string {
  return variant ? `[${variant}]` : '';
}

/** Subgroup variants need the feature; elsewhere the case is reported as unsupported, not failed. */
function assertVariantRuns(e: Engine, variant: string | undefined): void {
  if (variant === 'subgroup' && !e.device.features.has('subgroups')) {
    throw new CaseUnsupported('the subgroup variant needs the subgroups feature, which this adapter lacks');
  }
}

/** Winograd on or off for a case; undefined: the engine's own choice ('auto'). */
function winogradTag(winograd: boolean | undefined): string {
  return winograd === undefined ? '' : winograd ? '[winograd]' : '[gemm]';
}

function convOptions(l: ConvLayer, variant: ConvVariant | undefined, winograd: boolean | undefined) {
  return { stride: l.stride, padding: l.pad, ...(variant ? { variant } : {}), ...(winograd === undefined ? {} : { winograd }) };
}

/** What ran, for the note: the variant, and Winograd where the layer is a stride-1 3x3 it applies to. */
function convNote(variant: string, l: ConvLayer, winograd: boolean | undefined, chosen: boolean): string {
  return l.k === 3 && l.stride === 1 && (winograd ?? chosen) ? `${variant}, winograd` : variant;
}

export function convForwardCase(l: ConvLayer, n: number, variant?: ConvVariant, winograd?: boolean): BenchCase {
  const g = convGeometry(l, n);
  return {
    name: `conv2d.forward${variantTag(variant)}${winogradTag(winograd)} ${convLabel(l)} N=${n}`,
    op: 'conv2d.forward',
    module: moduleFile('conv2d'),
    batch: n,
    shapes: { x: g.x, w: g.w, y: g.y },
    quick: !!l.quick,
    flops: () => g.flops,
    bytes: () => F32 * (numel(g.x) + numel(g.w) + (l.bias ? l.cout : 0) + numel(g.y)),
    async setup(e) {
      const { conv2dForward, prepareConv2dWeight, releaseConv2dWeightCache, selectConv2dVariant, conv2dUsesWinograd } =
        await kernels.conv2d();
      assertVariantRuns(e, variant);
      const opts = convOptions(l, variant, winograd);
      const x = filled(e, g.x, 1, 'x');
      const w = filled(e, g.w, 2, 'w', 0.05);
      const b = l.bias ? filled(e, [l.cout], 3, 'b', 0.1) : null;
      // A model packs its weights once at load; the timed runs measure the conv itself.
      prepareConv2dWeight(e, w, opts);
      return {
        run: () => e.release(conv2dForward(e, x, w, b, opts)),
        cleanup: () => {
          releaseConv2dWeightCache(e, w);
          e.releaseAll(x, w, b);
        },
        note: variant ? undefined : convNote(selectConv2dVariant(e), l, winograd, conv2dUsesWinograd(e, g.x, g.w, opts)),
      };
    },
  };
}

export function convBackwardInputCase(l: ConvLayer, n: number, variant?: ConvVariant, winograd?: boolean): BenchCase {
  const g = convGeometry(l, n);
  return {
    name: `conv2d.backwardInput${variantTag(variant)}${winogradTag(winograd)} ${convLabel(l)} N=${n}`,
    op: 'conv2d.backwardInput',
    module: moduleFile('conv2d'),
    batch: n,
    shapes: { dy: g.y, w: g.w, dx: g.x },
    quick: !!l.quick,
    flops: () => g.flops,
    bytes: () => F32 * (numel(g.y) + numel(g.w) + numel(g.x)),
    async setup(e) {
      const { conv2dBackwardInput, prepareConv2dWeight, releaseConv2dWeightCache, selectConv2dVariant, conv2dUsesWinograd } =
        await kernels.conv2d();
      assertVariantRuns(e, variant);
      const opts = convOptions(l, variant, winograd);
      const dy = filled(e, g.y, 4, 'dy');
      const w = filled(e, g.w, 2, 'w', 0.05);
      prepareConv2dWeight(e, w, { ...opts, backwardInput: true });
      return {
        run: () => e.release(conv2dBackwardInput(e, dy, w, g.x, opts)),
        cleanup: () => {
          releaseConv2dWeightCache(e, w);
          e.releaseAll(dy, w);
        },
        note: variant ? undefined : convNote(selectConv2dVariant(e), l, winograd, conv2dUsesWinograd(e, g.x, g.w, opts, true)),
      };
    },
  };
}

// ---------------------------------------------------------------- matmul / linear

export interface MatmulShape {
  /** (M, K) x (K, N) -> (M, N) */
  m: number;
  n: number;
  k: number;
  what: string;
  quick?: boolean;
}

export function matmulCase(s: MatmulShape, variant?: MatmulVariant): BenchCase {
  const a = [s.m, s.k];
  const b = [s.k, s.n];
  const c = [s.m, s.n];
  return {
    name: `matmul${variantTag(variant)} ${s.m}x${s.n}x${s.k} (${s.what})`,
    op: 'matmul',
    module: moduleFile('matmul'),
    batch: null,
    shapes: { a, b, c },
    quick: !!s.quick,
    flops: () => 2 * s.m * s.n * s.k,
    bytes: () => F32 * (numel(a) + numel(b) + numel(c)),
    async setup(e) {
      const { matmul, selectMatmulVariant } = await kernels.matmul();
      assertVariantRuns(e, variant);
      const opts = variant ? { variant } : {};
      const at = filled(e, a, 5, 'a');
      const bt = filled(e, b, 6, 'b', 0.05);
      return { ...instance(e, [at, bt], () => matmul(e, at, bt, opts)), note: variant ? undefined : selectMatmulVariant(e) };
    },
  };
}

export interface LinearLayer {
  model: string;
  layer: string;
  inFeatures: number;
  outFeatures: number;
  quick?: boolean;
}

export function linearCase(l: LinearLayer, n: number): BenchCase {
  const x = [n, l.inFeatures];
  const w = [l.outFeatures, l.inFeatures];
  const y = [n, l.outFeatures];
  return {
    name: `linear.forward ${l.model}.${l.layer} ${l.inFeatures}->${l.outFeatures} N=${n}`,
    op: 'linear.forward',
    module: moduleFile('matmul'),
    batch: n,
    shapes: { x, w, y },
    quick: !!l.quick,
    flops: () => 2 * n * l.inFeatures * l.outFeatures,
    bytes: () => F32 * (numel(x) + numel(w) + l.outFeatures + numel(y)),
    async setup(e) {
      const { linearForward, uploadLinearWeight, releaseLinearWeight, selectMatmulVariant } = await kernels.matmul();
      const xt = filled(e, x, 7, 'x');
      // VGG's classifier.0 weight is 392 MiB: uploadLinearWeight splits it under the binding limit.
      const weight = uploadLinearWeight(e, fillArray(numel(w), 8, 0.01), l.outFeatures, l.inFeatures, 'bench.w');
      const bias = filled(e, [l.outFeatures], 9, 'b', 0.1);
      return {
        run: () => e.release(linearForward(e, xt, weight, bias)),
        cleanup: () => {
          releaseLinearWeight(e, weight);
          e.releaseAll(xt, bias);
        },
        note: `${selectMatmulVariant(e)}${weight.chunks.length > 1 ? `, weight in ${weight.chunks.length} bindings` : ''}`,
      };
    },
  };
}

// ---------------------------------------------------------------- memory-bound ops on activations

/** An activation tensor of a real layer: (N, C, H, W) at batch N. */
export interface Activation {
  /** Where it occurs, e.g. `resnet50.layer1 out`. */
  where: string;
  c: number;
  hw: number;
  quick?: boolean;
}

function act(a: Activation, n: number): number[] {
  return [n, a.c, a.hw, a.hw];
}

function actLabel(a: Activation, n: number): string {
  return `${a.where} ${a.c}x${a.hw}x${a.hw} N=${n}`;
}

export function reluCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  return {
    name: `relu.forward ${actLabel(a, n)}`,
    op: 'relu.forward',
    module: moduleFile('relu'),
    batch: n,
    shapes: { x, y: x },
    quick: !!a.quick,
    flops: () => numel(x),
    bytes: () => F32 * 2 * numel(x),
    async setup(e) {
      const { reluForward } = await kernels.relu();
      const xt = filled(e, x, 10, 'x');
      return instance(e, [xt], () => reluForward(e, xt));
    },
  };
}

export function reluBackwardCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  return {
    name: `relu.backward ${actLabel(a, n)}`,
    op: 'relu.backward',
    module: moduleFile('relu'),
    batch: n,
    shapes: { z: x, dy: x, dx: x },
    quick: !!a.quick,
    flops: () => numel(x),
    bytes: () => F32 * 3 * numel(x),
    async setup(e) {
      const { reluBackward } = await kernels.relu();
      const z = filled(e, x, 11, 'z');
      const dy = filled(e, x, 12, 'dy');
      return instance(e, [z, dy], () => reluBackward(e, z, dy, 'guided'));
    },
  };
}

export function addCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  return {
    name: `add ${actLabel(a, n)}`,
    op: 'add',
    module: moduleFile('elementwise'),
    batch: n,
    shapes: { a: x, b: x, y: x },
    quick: !!a.quick,
    flops: () => numel(x),
    bytes: () => F32 * 3 * numel(x),
    async setup(e) {
      const { add } = await kernels.elementwise();
      const at = filled(e, x, 13, 'a');
      const bt = filled(e, x, 14, 'b');
      return instance(e, [at, bt], () => add(e, at, bt));
    },
  };
}

export function addReluCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  return {
    name: `addRelu ${actLabel(a, n)}`,
    op: 'addRelu',
    module: moduleFile('elementwise'),
    batch: n,
    shapes: { a: x, b: x, y: x },
    quick: !!a.quick,
    flops: () => 2 * numel(x),
    bytes: () => F32 * 3 * numel(x),
    async setup(e) {
      const { addRelu } = await kernels.elementwise();
      const at = filled(e, x, 13, 'a');
      const bt = filled(e, x, 14, 'b');
      return instance(e, [at, bt], () => addRelu(e, at, bt));
    },
  };
}

/** Inference batch-norm folded to y = x * scale[c] + shift[c]. */
export function channelAffineCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  return {
    name: `channelAffine.forward ${actLabel(a, n)}`,
    op: 'channelAffine.forward',
    module: moduleFile('channelAffine'),
    batch: n,
    shapes: { x, scale: [a.c], shift: [a.c], y: x },
    quick: !!a.quick,
    flops: () => 2 * numel(x),
    bytes: () => F32 * (2 * numel(x) + 2 * a.c),
    async setup(e) {
      const { channelAffineForward } = await kernels.channelAffine();
      const xt = filled(e, x, 15, 'x');
      const scale = filled(e, [a.c], 16, 'scale');
      const shift = filled(e, [a.c], 17, 'shift');
      return instance(e, [xt, scale, shift], () => channelAffineForward(e, xt, scale, shift));
    },
  };
}

export interface PoolLayer extends Activation {
  k: number;
  stride: number;
  pad: number;
}

export function maxPoolCase(p: PoolLayer, n: number): BenchCase {
  const x = act(p, n);
  const ho = outSize(p.hw, p.k, p.stride, p.pad);
  const y = [n, p.c, ho, ho];
  return {
    name: `maxPool2d.forward ${p.where} ${p.k}x${p.k}/${p.stride} ${p.c}x${p.hw}x${p.hw} N=${n}`,
    op: 'maxPool2d.forward',
    module: moduleFile('pool'),
    batch: n,
    shapes: { x, y, switches: y },
    quick: !!p.quick,
    // One compare per window element.
    flops: () => numel(y) * p.k * p.k,
    bytes: () => F32 * (numel(x) + 2 * numel(y)),
    async setup(e) {
      const { maxPool2dForward } = await kernels.pool();
      const xt = filled(e, x, 18, 'x');
      const opts = { kernel: p.k, stride: p.stride, padding: p.pad };
      return instance(e, [xt], () => maxPool2dForward(e, xt, opts));
    },
  };
}

export function maxPoolBackwardCase(p: PoolLayer, n: number): BenchCase {
  const x = act(p, n);
  const ho = outSize(p.hw, p.k, p.stride, p.pad);
  const y = [n, p.c, ho, ho];
  return {
    name: `maxPool2d.backward ${p.where} ${p.k}x${p.k}/${p.stride} ${p.c}x${p.hw}x${p.hw} N=${n}`,
    op: 'maxPool2d.backward',
    module: moduleFile('pool'),
    batch: n,
    shapes: { dy: y, switches: y, dx: x },
    quick: !!p.quick,
    // One add per routed gradient.
    flops: () => numel(y),
    bytes: () => F32 * (2 * numel(y) + numel(x)),
    async setup(e) {
      const { maxPool2dForward, maxPool2dBackward } = await kernels.pool();
      const opts = { kernel: p.k, stride: p.stride, padding: p.pad };
      // Real switches come from a forward pass over real-looking data.
      const xt = filled(e, x, 18, 'x');
      const { y: yt, switches } = maxPool2dForward(e, xt, opts);
      e.releaseAll(xt, yt);
      const dy = filled(e, y, 22, 'dy');
      return instance(e, [dy, switches], () => maxPool2dBackward(e, dy, switches, x, opts));
    },
  };
}

export function globalAvgPoolCase(a: Activation, n: number): BenchCase {
  const x = act(a, n);
  const y = [n, a.c, 1, 1];
  return {
    name: `globalAvgPool.forward ${actLabel(a, n)}`,
    op: 'globalAvgPool.forward',
    module: moduleFile('pool'),
    batch: n,
    shapes: { x, y },
    quick: !!a.quick,
    flops: () => numel(x),
    bytes: () => F32 * (numel(x) + numel(y)),
    async setup(e) {
      const { globalAvgPoolForward } = await kernels.pool();
      const xt = filled(e, x, 19, 'x');
      return instance(e, [xt], () => globalAvgPoolForward(e, xt));
    },
  };
}

export interface ResizeShape {
  what: string;
  c: number;
  from: number;
  to: number;
  quick?: boolean;
}

export function bilinearResizeCase(r: ResizeShape, n: number): BenchCase {
  const x = [n, r.c, r.from, r.from];
  const y = [n, r.c, r.to, r.to];
  return {
    name: `bilinearResize ${r.what} ${r.c}x${r.from}x${r.from}->${r.to}x${r.to} N=${n}`,
    op: 'bilinearResize',
    module: moduleFile('resize'),
    batch: n,
    shapes: { x, y },
    quick: !!r.quick,
    // Four taps per output: 4 multiplies and 3 adds.
    flops: () => 7 * numel(y),
    bytes: () => F32 * (numel(x) + numel(y)),
    async setup(e) {
      const { bilinearResize } = await kernels.resize();
      const xt = filled(e, x, 20, 'x');
      return instance(e, [xt], () => bilinearResize(e, xt, [r.to, r.to]));
    },
  };
}

export interface SoftmaxShape {
  what: string;
  classes: number;
  quick?: boolean;
}

export function softmaxCase(s: SoftmaxShape, n: number): BenchCase {
  const x = [n, s.classes];
  return {
    name: `softmax ${s.what} ${s.classes} N=${n}`,
    op: 'softmax',
    module: moduleFile('softmax'),
    batch: n,
    shapes: { x, y: x },
    quick: !!s.quick,
    // Per element: max, subtract, exp, sum, divide.
    flops: () => 5 * numel(x),
    bytes: () => F32 * 2 * numel(x),
    async setup(e) {
      const { softmax } = await kernels.softmax();
      const xt = filled(e, x, 21, 'x', 8);
      return instance(e, [xt], () => softmax(e, xt));
    },
  };
}

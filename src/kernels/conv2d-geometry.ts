/**
 * A conv's shapes resolved and validated once (`resolveConv2d`): batch, channels, groups, kernel,
 * stride, padding, dilation and the output size every path of conv2d.ts plans from, with the errors a
 * user sees for a bad shape or option.
 */
import { formatShape, KernelInputError } from '../gpu/errors.js';

/** The options that fix a conv's geometry (Conv2dOptions extends them). */
export interface Conv2dShapeOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  activation?: 'none' | 'relu';
}

/** Everything about one conv's shapes, resolved and validated. */
export interface Conv2dGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  Cg: number;
  Og: number;
  G: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
  Ho: number;
  Wo: number;
}

/** A per-axis option (stride, padding, dilation) as (H, W): one integer for both, or a pair; at least `min`. */
export function resolvePair(
  kernel: string,
  name: string,
  v: number | [number, number] | undefined,
  dflt: number,
  min: number,
): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v === 'object' && (!Array.isArray(v) || v.length !== 2)) || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new KernelInputError(`${kernel}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

function shapeOk(shape: readonly number[]): boolean {
  return shape.every((d) => Number.isInteger(d) && d > 0);
}

export function resolveConv2d(
  kernel: string,
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dShapeOptions = {},
): Conv2dGeometry {
  if (xShape.length !== 4) throw new KernelInputError(`${kernel}: input must have rank 4 (N, C, H, W), got ${formatShape(xShape)}`);
  if (wShape.length !== 4)
    throw new KernelInputError(`${kernel}: weight must have rank 4 (O, C/groups, KH, KW), got ${formatShape(wShape)}`);
  if (!shapeOk(xShape) || !shapeOk(wShape)) {
    throw new KernelInputError(`${kernel}: zero-size or non-integer shape: input ${formatShape(xShape)}, weight ${formatShape(wShape)}`);
  }
  const [N, C, H, W] = xShape;
  const [O, Cg, KH, KW] = wShape;
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new KernelInputError(`${kernel}: groups must be a positive integer, got ${G}`);
  if (C % G !== 0 || O % G !== 0) {
    throw new KernelInputError(
      `${kernel}: groups=${G} must divide both input channels ${C} and output channels ${O} (input ${formatShape(xShape)}, weight ${formatShape(wShape)})`,
    );
  }
  if (Cg * G !== C) {
    throw new KernelInputError(
      `${kernel}: channel mismatch: input ${formatShape(xShape)} has ${C} channels but weight ${formatShape(wShape)} expects ${Cg} x groups=${G} = ${Cg * G}`,
    );
  }
  const [SH, SW] = resolvePair(kernel, 'stride', opts.stride, 1, 1);
  const [PH, PW] = resolvePair(kernel, 'padding', opts.padding, 0, 0);
  const [DH, DW] = resolvePair(kernel, 'dilation', opts.dilation, 1, 1);
  const Ho = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
  const Wo = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new KernelInputError(
      `${kernel}: kernel ${KH}x${KW} (dilation ${DH}x${DW}) is larger than the padded input ${H + 2 * PH}x${W + 2 * PW} (input ${formatShape(xShape)}, padding ${PH}x${PW}); output size would be ${Ho}x${Wo}`,
    );
  }
  if (opts.activation !== undefined && opts.activation !== 'none' && opts.activation !== 'relu') {
    throw new KernelInputError(`${kernel}: activation must be 'none' or 'relu', got ${JSON.stringify(opts.activation)}`);
  }
  return { N, C, H, W, O, Cg, Og: O / G, G, KH, KW, SH, SW, PH, PW, DH, DW, Ho, Wo };
}

/** Output shape (N, O, Ho, Wo) of conv2d for the given input and weight shapes; throws on bad geometry. */
export function conv2dOutputShape(
  inputShape: readonly number[],
  weightShape: readonly number[],
  opts: Conv2dShapeOptions = {},
): [number, number, number, number] {
  const g = resolveConv2d('conv2d', inputShape, weightShape, opts);
  return [g.N, g.O, g.Ho, g.Wo];
}

/** Multiply-adds x 2 of the forward pass (the same count for backward to the input): 2*N*O*Ho*Wo*(C/g)*KH*KW. */
export function conv2dFlops(inputShape: readonly number[], weightShape: readonly number[], opts: Conv2dShapeOptions = {}): number {
  return convFlops(resolveConv2d('conv2d', inputShape, weightShape, opts));
}

/** The conv's multiply-adds x 2 (the same for forward, backward to the input and to the weights). */
export function convFlops(g: Conv2dGeometry): number {
  return 2 * g.N * g.O * g.Ho * g.Wo * g.Cg * g.KH * g.KW;
}

export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A 1x1, stride-1, unpadded conv: no spatial structure, one flat GEMM per image. */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0;
}

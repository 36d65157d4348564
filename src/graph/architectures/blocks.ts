/** torchvision building blocks shared by the MobileNet and EfficientNet families (torchvision/ops/misc.py). */
import type { GraphBuilder } from '../builder.js';
import type { ValueId } from '../graph.js';

export type BlockActivation = 'relu' | 'relu6' | 'hardswish' | 'silu';

/** torchvision's _make_divisible: round to the nearest multiple of `divisor`, never below 90 % of v. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

export interface ConvNormActOptions {
  stride?: number;
  groups?: number;
  /** null: no activation (the projection of an inverted residual). */
  act: BlockActivation | null;
  eps: number;
}

/**
 * Conv2dNormActivation: `name.0` conv (no bias, padding (k - 1) / 2), `name.1` batch-norm, `name.2`
 * activation; `name` is the container and names its last output.
 */
export function convNormAct(
  b: GraphBuilder,
  name: string,
  x: ValueId,
  cin: number,
  cout: number,
  k: number,
  o: ConvNormActOptions,
): ValueId {
  let y = b.conv(`${name}.0`, x, cin, cout, k, { stride: o.stride ?? 1, padding: (k - 1) / 2, groups: o.groups ?? 1 });
  y = b.batchNorm(`${name}.1`, y, cout, o.eps);
  if (o.act) y = b.unary(o.act, `${name}.2`, y);
  return b.alias(name, y);
}

/**
 * SqueezeExcitation(channels, squeeze): scale = gate(fc2(act(fc1(avgpool(x))))), y = scale * x, with
 * fc1 and fc2 1x1 convs with bias. The gate node carries the module's name.
 */
export function squeezeExcitation(
  b: GraphBuilder,
  name: string,
  x: ValueId,
  channels: number,
  squeeze: number,
  act: 'relu' | 'silu',
  gate: 'hardsigmoid' | 'sigmoid',
): ValueId {
  let s = b.adaptiveAvgPool(`${name}.avgpool`, x, [1, 1]);
  s = b.conv(`${name}.fc1`, s, channels, squeeze, 1, { bias: true });
  s = b.unary(act, `${name}.activation`, s);
  s = b.conv(`${name}.fc2`, s, squeeze, channels, 1, { bias: true });
  s = b.unary(gate, `${name}.scale_activation`, s);
  return b.channelScale(name, x, s);
}

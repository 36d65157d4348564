import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import { hasShape, layersMatching, type Architecture, type ArchitectureFamily } from './architecture.js';
import { convNormAct, makeDivisible, squeezeExcitation } from './blocks.js';

/** One bneck row of the MobileNetV3 paper's tables 1 and 2 (torchvision's InvertedResidualConfig). */
interface Bneck {
  cin: number;
  k: number;
  expanded: number;
  cout: number;
  se: boolean;
  act: 'relu' | 'hardswish';
  stride: number;
}

const row = (cin: number, k: number, expanded: number, cout: number, se: boolean, act: 'RE' | 'HS', stride: number): Bneck => ({
  cin,
  k,
  expanded,
  cout,
  se,
  act: act === 'RE' ? 'relu' : 'hardswish',
  stride,
});

const CONFIGS: Record<'large' | 'small', { rows: Bneck[]; lastChannel: number }> = {
  large: {
    rows: [
      row(16, 3, 16, 16, false, 'RE', 1),
      row(16, 3, 64, 24, false, 'RE', 2),
      row(24, 3, 72, 24, false, 'RE', 1),
      row(24, 5, 72, 40, true, 'RE', 2),
      row(40, 5, 120, 40, true, 'RE', 1),
      row(40, 5, 120, 40, true, 'RE', 1),
      row(40, 3, 240, 80, false, 'HS', 2),
      row(80, 3, 200, 80, false, 'HS', 1),
      row(80, 3, 184, 80, false, 'HS', 1),
      row(80, 3, 184, 80, false, 'HS', 1),
      row(80, 3, 480, 112, true, 'HS', 1),
      row(112, 3, 672, 112, true, 'HS', 1),
      row(112, 5, 672, 160, true, 'HS', 2),
      row(160, 5, 960, 160, true, 'HS', 1),
      row(160, 5, 960, 160, true, 'HS', 1),
    ],
    lastChannel: 1280,
  },
  small: {
    rows: [
      row(16, 3, 16, 16, true, 'RE', 2),
      row(16, 3, 72, 24, false, 'RE', 2),
      row(24, 3, 88, 24, false, 'RE', 1),
      row(24, 5, 96, 40, true, 'HS', 2),
      row(40, 5, 240, 40, true, 'HS', 1),
      row(40, 5, 240, 40, true, 'HS', 1),
      row(40, 5, 120, 48, true, 'HS', 1),
      row(48, 5, 144, 48, true, 'HS', 1),
      row(48, 5, 288, 96, true, 'HS', 2),
      row(96, 5, 576, 96, true, 'HS', 1),
      row(96, 5, 576, 96, true, 'HS', 1),
    ],
    lastChannel: 1024,
  },
};
/** torchvision builds MobileNetV3 with BatchNorm2d(eps=0.001). */
const EPS = 1e-3;

/**
 * torchvision.models.mobilenet_v3_{large,small} (width 1.0): `features.0` stem (hardswish),
 * `features.1`-`features.N` inverted residuals (`.block` = [1x1 expand], kxk depthwise,
 * [squeeze-and-excitation with ReLU and a hardsigmoid gate], 1x1 project; a residual add when the
 * stride is 1 and the width unchanged), a 1x1 conv to 6x the last width (hardswish); then `avgpool`,
 * `classifier.0` linear, `.1` hardswish, `.2` dropout, `.3` linear.
 */
export function buildMobileNetV3(b: GraphBuilder, size: 'large' | 'small', numClasses: number): void {
  const { rows, lastChannel } = CONFIGS[size];
  let x = convNormAct(b, 'features.0', INPUT, 3, rows[0].cin, 3, { stride: 2, act: 'hardswish', eps: EPS });
  rows.forEach((r, i) => (x = invertedResidual(b, `features.${i + 1}`, x, r)));
  const last = rows[rows.length - 1].cout;
  x = convNormAct(b, `features.${rows.length + 1}`, x, last, 6 * last, 1, { act: 'hardswish', eps: EPS });
  b.alias('features', x);
  x = b.flatten('flatten', b.adaptiveAvgPool('avgpool', x, [1, 1]));
  x = b.unary('hardswish', 'classifier.1', b.linear('classifier.0', x, 6 * last, lastChannel));
  x = b.identity('classifier.2', x);
  b.alias('classifier', b.linear('classifier.3', x, lastChannel, numClasses));
}

function invertedResidual(b: GraphBuilder, name: string, x: ValueId, r: Bneck): ValueId {
  let y = x;
  let k = 0;
  if (r.expanded !== r.cin) y = convNormAct(b, `${name}.block.${k++}`, y, r.cin, r.expanded, 1, { act: r.act, eps: EPS });
  y = convNormAct(b, `${name}.block.${k++}`, y, r.expanded, r.expanded, r.k, {
    stride: r.stride,
    groups: r.expanded,
    act: r.act,
    eps: EPS,
  });
  if (r.se) y = squeezeExcitation(b, `${name}.block.${k++}`, y, r.expanded, makeDivisible(r.expanded / 4), 'relu', 'hardsigmoid');
  y = b.alias(`${name}.block`, convNormAct(b, `${name}.block.${k}`, y, r.expanded, r.cout, 1, { act: null, eps: EPS }));
  return b.alias(name, r.stride === 1 && r.cin === r.cout ? b.add(`${name}.add`, y, x) : y);
}

function mobileNetV3(size: 'large' | 'small', numClasses: number): Architecture {
  const blocks = CONFIGS[size].rows.length;
  return {
    name: `mobilenet_v3_${size}`,
    family: 'mobilenet_v3',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildMobileNetV3(b, size, numClasses),
    camLayer: () => `features.${blocks + 1}`,
    exits: (graph) => layersMatching(graph, /^features\.\d+$/),
  };
}

export const MOBILENET_V3: ArchitectureFamily = {
  family: 'mobilenet_v3',
  names: ['mobilenet_v3_large', 'mobilenet_v3_small'],
  fromName(name, numClasses) {
    const m = /^mobilenet_v3_(large|small)$/.exec(name);
    return m ? mobileNetV3(m[1] as 'large' | 'small', numClasses) : undefined;
  },
  classifierWeight: () => 'classifier.3.weight',
  detect(weights) {
    const rows = weights.shapeOf('classifier.3.weight')?.[0];
    if (!rows) return undefined;
    if (hasShape(weights, 'features.16.0.weight', [960, 160, 1, 1])) return mobileNetV3('large', rows);
    if (hasShape(weights, 'features.12.0.weight', [576, 96, 1, 1])) return mobileNetV3('small', rows);
    return undefined;
  },
};

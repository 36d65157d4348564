import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import { hasShape, layersMatching, type Architecture, type ArchitectureFamily } from './architecture.js';
import { convNormAct } from './blocks.js';

/** torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s. */
const SETTING: [t: number, c: number, n: number, s: number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];
const EPS = 1e-5;
const LAST_CHANNEL = 1280;

/**
 * torchvision.models.mobilenet_v2 (width 1.0): `features.0` stem, `features.1`-`features.17` inverted
 * residuals (`.conv` = [1x1 expand], 3x3 depthwise, 1x1 project + batch-norm; a residual add when the
 * stride is 1 and the width unchanged), `features.18` 1x1 to 1280, ReLU6 throughout; then the functional
 * global average pool (named `avgpool`), `classifier.0` dropout and `classifier.1` linear.
 */
export function buildMobileNetV2(b: GraphBuilder, numClasses: number): void {
  let x = convNormAct(b, 'features.0', INPUT, 3, 32, 3, { stride: 2, act: 'relu6', eps: EPS });
  let cin = 32;
  let index = 1;
  for (const [t, c, n, s] of SETTING) {
    for (let i = 0; i < n; i++) {
      x = invertedResidual(b, `features.${index++}`, x, cin, c, i === 0 ? s : 1, t);
      cin = c;
    }
  }
  x = convNormAct(b, `features.${index}`, x, cin, LAST_CHANNEL, 1, { act: 'relu6', eps: EPS });
  b.alias('features', x);
  x = b.flatten('flatten', b.adaptiveAvgPool('avgpool', x, [1, 1]));
  x = b.identity('classifier.0', x);
  b.alias('classifier', b.linear('classifier.1', x, LAST_CHANNEL, numClasses));
}

function invertedResidual(b: GraphBuilder, name: string, x: ValueId, cin: number, cout: number, stride: number, t: number): ValueId {
  const hidden = Math.round(cin * t);
  let y = x;
  let k = 0;
  if (t !== 1) y = convNormAct(b, `${name}.conv.${k++}`, y, cin, hidden, 1, { act: 'relu6', eps: EPS });
  y = convNormAct(b, `${name}.conv.${k++}`, y, hidden, hidden, 3, { stride, groups: hidden, act: 'relu6', eps: EPS });
  y = b.conv(`${name}.conv.${k++}`, y, hidden, cout, 1);
  y = b.alias(`${name}.conv`, b.batchNorm(`${name}.conv.${k}`, y, cout, EPS));
  return b.alias(name, stride === 1 && cin === cout ? b.add(`${name}.add`, x, y) : y);
}

function mobileNetV2(numClasses: number): Architecture {
  return {
    name: 'mobilenet_v2',
    family: 'mobilenet_v2',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildMobileNetV2(b, numClasses),
    camLayer: () => 'features.18',
    exits: (graph) => layersMatching(graph, /^features\.\d+$/),
  };
}

export const MOBILENET_V2: ArchitectureFamily = {
  family: 'mobilenet_v2',
  names: ['mobilenet_v2'],
  fromName: (name, numClasses) => (name === 'mobilenet_v2' ? mobileNetV2(numClasses) : undefined),
  classifierWeight: () => 'classifier.1.weight',
  detect(weights) {
    const rows = weights.shapeOf('classifier.1.weight')?.[0];
    return rows && hasShape(weights, 'features.18.0.weight', [LAST_CHANNEL, 320, 1, 1]) && weights.shapeOf('features.1.conv.0.0.weight')
      ? mobileNetV2(rows)
      : undefined;
  },
};

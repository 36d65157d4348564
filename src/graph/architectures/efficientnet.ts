import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import { hasShape, layersMatching, type Architecture, type ArchitectureFamily } from './architecture.js';
import { convNormAct, makeDivisible, squeezeExcitation } from './blocks.js';

/** EfficientNet-B0's stages (torchvision's MBConvConfig rows): expansion, kernel, stride, in, out, repeats. */
const B0_STAGES: [expand: number, k: number, stride: number, cin: number, cout: number, repeats: number][] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];
const EPS = 1e-5;

/**
 * torchvision.models.efficientnet_b0: `features.0` stem (SiLU), `features.1`-`features.7` stages of MBConv
 * blocks (`features.s.i.block` = [1x1 expand], kxk depthwise, squeeze-and-excitation with SiLU and a
 * sigmoid gate, 1x1 project; when the stride is 1 and the width unchanged, `stochastic_depth` (identity
 * at inference) and a residual add), `features.8` 1x1 to 1280 (SiLU); then `avgpool`, `classifier.0`
 * dropout, `classifier.1` linear.
 */
export function buildEfficientNetB0(b: GraphBuilder, numClasses: number): void {
  let x = convNormAct(b, 'features.0', INPUT, 3, B0_STAGES[0][3], 3, { stride: 2, act: 'silu', eps: EPS });
  B0_STAGES.forEach(([expand, k, stride, cin, cout, repeats], s) => {
    for (let i = 0; i < repeats; i++)
      x = mbConv(b, `features.${s + 1}.${i}`, x, i === 0 ? cin : cout, cout, k, i === 0 ? stride : 1, expand);
    b.alias(`features.${s + 1}`, x);
  });
  const last = B0_STAGES[B0_STAGES.length - 1][4];
  x = convNormAct(b, 'features.8', x, last, 4 * last, 1, { act: 'silu', eps: EPS });
  b.alias('features', x);
  x = b.flatten('flatten', b.adaptiveAvgPool('avgpool', x, [1, 1]));
  x = b.identity('classifier.0', x);
  b.alias('classifier', b.linear('classifier.1', x, 4 * last, numClasses));
}

function mbConv(b: GraphBuilder, name: string, x: ValueId, cin: number, cout: number, k: number, stride: number, expand: number): ValueId {
  const expanded = makeDivisible(cin * expand);
  let y = x;
  let j = 0;
  if (expanded !== cin) y = convNormAct(b, `${name}.block.${j++}`, y, cin, expanded, 1, { act: 'silu', eps: EPS });
  y = convNormAct(b, `${name}.block.${j++}`, y, expanded, expanded, k, { stride, groups: expanded, act: 'silu', eps: EPS });
  y = squeezeExcitation(b, `${name}.block.${j++}`, y, expanded, Math.max(1, Math.floor(cin / 4)), 'silu', 'sigmoid');
  y = b.alias(`${name}.block`, convNormAct(b, `${name}.block.${j}`, y, expanded, cout, 1, { act: null, eps: EPS }));
  if (stride !== 1 || cin !== cout) return b.alias(name, y);
  return b.alias(name, b.add(`${name}.add`, b.identity(`${name}.stochastic_depth`, y), x));
}

function efficientNetB0(numClasses: number): Architecture {
  return {
    name: 'efficientnet_b0',
    family: 'efficientnet',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildEfficientNetB0(b, numClasses),
    camLayer: () => 'features.8',
    exits: (graph) => ['features.0', ...layersMatching(graph, /^features\.[1-7]\.\d+$/), 'features.8'],
  };
}

export const EFFICIENTNET: ArchitectureFamily = {
  family: 'efficientnet',
  names: ['efficientnet_b0'],
  fromName: (name, numClasses) => (name === 'efficientnet_b0' ? efficientNetB0(numClasses) : undefined),
  classifierWeight: () => 'classifier.1.weight',
  detect(weights) {
    const rows = weights.shapeOf('classifier.1.weight')?.[0];
    return rows && hasShape(weights, 'features.8.0.weight', [1280, 320, 1, 1]) && weights.shapeOf('features.1.0.block.0.0.weight')
      ? efficientNetB0(rows)
      : undefined;
  },
};

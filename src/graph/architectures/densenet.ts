import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import type { Architecture, ArchitectureFamily } from './architecture.js';

/** torchvision's DenseNet-BC configurations: growth rate, layers per dense block, stem width. */
const CONFIGS: Record<121 | 161 | 169 | 201, { growth: number; blocks: number[]; init: number }> = {
  121: { growth: 32, blocks: [6, 12, 24, 16], init: 64 },
  161: { growth: 48, blocks: [6, 12, 36, 24], init: 96 },
  169: { growth: 32, blocks: [6, 12, 32, 32], init: 64 },
  201: { growth: 32, blocks: [6, 12, 48, 32], init: 64 },
};
type DenseNetDepth = keyof typeof CONFIGS;
const DEPTHS: DenseNetDepth[] = [121, 161, 169, 201];
const BN_SIZE = 4;

/**
 * torchvision.models.densenet{121,161,169,201}: `features.conv0/norm0/relu0/pool0`, then dense blocks
 * `features.denseblockK` whose layer `denselayerI` reads the concatenation of the block input and every
 * earlier layer's output (named `.cat`) through norm1, relu1, conv1 (1x1 to 4 x growth), norm2, relu2,
 * conv2 (3x3 to growth); the block's output is the concatenation of all of them (`features.denseblockK`).
 * Transitions `features.transitionK` (norm, relu, 1x1 conv halving the width, 2x2 average pool) sit
 * between blocks; then `features.norm5`, the functional ReLU (named `relu`), global average pool
 * (`avgpool`) and `classifier`.
 */
export function buildDenseNet(b: GraphBuilder, depth: DenseNetDepth, numClasses: number): void {
  const { growth, blocks, init } = CONFIGS[depth];
  let x = b.conv('features.conv0', INPUT, 3, init, 7, { stride: 2, padding: 3 });
  x = b.relu('features.relu0', b.batchNorm('features.norm0', x, init));
  x = b.maxPool('features.pool0', x, { kernel: 3, stride: 2, padding: 1 });
  let c = init;
  blocks.forEach((layers, k) => {
    const block = `features.denseblock${k + 1}`;
    const features: ValueId[] = [x];
    for (let i = 1; i <= layers; i++) {
      const name = `${block}.denselayer${i}`;
      // denselayer1 reads the block input itself: torch.cat of one tensor is a copy.
      const input = features.length === 1 ? features[0] : b.concat(`${name}.cat`, [...features]);
      const cin = c + (i - 1) * growth;
      let y = b.relu(`${name}.relu1`, b.batchNorm(`${name}.norm1`, input, cin));
      y = b.conv(`${name}.conv1`, y, cin, BN_SIZE * growth, 1);
      y = b.relu(`${name}.relu2`, b.batchNorm(`${name}.norm2`, y, BN_SIZE * growth));
      features.push(b.alias(name, b.conv(`${name}.conv2`, y, BN_SIZE * growth, growth, 3, { padding: 1 })));
    }
    x = b.alias(block, b.concat(`${block}.cat`, features));
    c += layers * growth;
    if (k < blocks.length - 1) {
      const name = `features.transition${k + 1}`;
      x = b.relu(`${name}.relu`, b.batchNorm(`${name}.norm`, x, c));
      x = b.conv(`${name}.conv`, x, c, c / 2, 1);
      x = b.alias(name, b.avgPool(`${name}.pool`, x, { kernel: 2, stride: 2 }));
      c /= 2;
    }
  });
  x = b.alias('features', b.batchNorm('features.norm5', x, c));
  x = b.flatten('flatten', b.adaptiveAvgPool('avgpool', b.relu('relu', x), [1, 1]));
  b.linear('classifier', x, c, numClasses);
}

function denseNet(depth: DenseNetDepth, numClasses: number): Architecture {
  return {
    name: `densenet${depth}`,
    family: 'densenet',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildDenseNet(b, depth, numClasses),
    camLayer: () => 'features.norm5',
    exits: () => [
      'features.pool0',
      ...CONFIGS[depth].blocks.flatMap((_, k) => [`features.denseblock${k + 1}`, ...(k < 3 ? [`features.transition${k + 1}`] : [])]),
      'features.norm5',
    ],
  };
}

export const DENSENET: ArchitectureFamily = {
  family: 'densenet',
  names: DEPTHS.map((d) => `densenet${d}`),
  fromName(name, numClasses) {
    const m = /^densenet(121|161|169|201)$/.exec(name);
    return m ? denseNet(Number(m[1]) as DenseNetDepth, numClasses) : undefined;
  },
  classifierWeight: () => 'classifier.weight',
  detect(weights) {
    const rows = weights.shapeOf('classifier.weight')?.[0];
    if (!rows || !weights.shapeOf('features.conv0.weight')) return undefined;
    const count = (k: number) => {
      let n = 0;
      while (weights.shapeOf(`features.denseblock${k}.denselayer${n + 1}.conv1.weight`)) n++;
      return n;
    };
    const blocks = [1, 2, 3, 4].map(count).join(',');
    const init = weights.shapeOf('features.conv0.weight')![0];
    const depth = DEPTHS.find((d) => CONFIGS[d].blocks.join(',') === blocks && CONFIGS[d].init === init);
    return depth ? denseNet(depth, rows) : undefined;
  },
};

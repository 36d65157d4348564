import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import { layersMatching, type Architecture, type ArchitectureFamily } from './architecture.js';

export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

export const RESNET_CONFIGS: Record<ResNetDepth, { blocks: [number, number, number, number]; bottleneck: boolean }> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  34: { blocks: [3, 4, 6, 3], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
  101: { blocks: [3, 4, 23, 3], bottleneck: true },
  152: { blocks: [3, 8, 36, 3], bottleneck: true },
};

/** torchvision.models.resnet{18..152}: stride on the 3x3 conv of the bottleneck (ResNet v1.5). */
export function buildTorchvisionResNet(b: GraphBuilder, depth: ResNetDepth, numClasses: number): void {
  const { blocks, bottleneck } = RESNET_CONFIGS[depth];
  const expansion = bottleneck ? 4 : 1;
  let x = b.conv('conv1', INPUT, 3, 64, 7, { stride: 2, padding: 3 });
  x = b.batchNorm('bn1', x, 64);
  x = b.relu('relu', x);
  x = b.maxPool('maxpool', x, { kernel: 3, stride: 2, padding: 1 });
  let inC = 64;
  blocks.forEach((count, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const name = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const outC = width * expansion;
      let shortcut: ValueId = x;
      if (stride !== 1 || inC !== outC) {
        shortcut = b.conv(`${name}.downsample.0`, x, inC, outC, 1, { stride });
        shortcut = b.alias(`${name}.downsample`, b.batchNorm(`${name}.downsample.1`, shortcut, outC));
      }
      let y: ValueId;
      if (bottleneck) {
        y = b.relu(`${name}.relu`, b.batchNorm(`${name}.bn1`, b.conv(`${name}.conv1`, x, inC, width, 1), width));
        y = b.relu(`${name}.relu`, b.batchNorm(`${name}.bn2`, b.conv(`${name}.conv2`, y, width, width, 3, { stride, padding: 1 }), width));
        y = b.batchNorm(`${name}.bn3`, b.conv(`${name}.conv3`, y, width, outC, 1), outC);
      } else {
        y = b.relu(`${name}.relu`, b.batchNorm(`${name}.bn1`, b.conv(`${name}.conv1`, x, inC, width, 3, { stride, padding: 1 }), width));
        y = b.batchNorm(`${name}.bn2`, b.conv(`${name}.conv2`, y, width, width, 3, { padding: 1 }), width);
      }
      // torchvision applies the block's single `relu` module after the residual add too.
      x = b.alias(name, b.relu(`${name}.relu`, b.add(`${name}.add`, y, shortcut)));
      inC = outC;
    }
    b.alias(`layer${stage + 1}`, x);
  });
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.flatten('flatten', x);
  b.linear('fc', x, inC, numClasses);
}

/** Infers the depth from the state_dict keys: block counts per stage and whether blocks have conv3. */
function inferResNetDepth(has: (name: string) => boolean): ResNetDepth | undefined {
  const count = (stage: number) => {
    let n = 0;
    while (has(`layer${stage}.${n}.conv1.weight`)) n++;
    return n;
  };
  const blocks = [1, 2, 3, 4].map(count).join(',');
  const bottleneck = has('layer1.0.conv3.weight');
  for (const [depth, cfg] of Object.entries(RESNET_CONFIGS)) {
    if (cfg.blocks.join(',') === blocks && cfg.bottleneck === bottleneck) return Number(depth) as ResNetDepth;
  }
  return undefined;
}

function resnet(depth: ResNetDepth, numClasses: number): Architecture {
  return {
    name: `resnet${depth}`,
    family: 'resnet',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildTorchvisionResNet(b, depth, numClasses),
    camLayer: () => 'layer4',
    exits: (graph) => ['maxpool', ...layersMatching(graph, /^layer\d+\.\d+$/)],
  };
}

export const RESNET: ArchitectureFamily = {
  family: 'resnet',
  names: Object.keys(RESNET_CONFIGS).map((d) => `resnet${d}`),
  fromName(name, numClasses) {
    const m = /^resnet(18|34|50|101|152)$/.exec(name);
    return m ? resnet(Number(m[1]) as ResNetDepth, numClasses) : undefined;
  },
  classifierWeight: () => 'fc.weight',
  detect(weights) {
    const rows = weights.shapeOf('fc.weight')?.[0];
    const depth = rows ? inferResNetDepth((n) => weights.shapeOf(n) !== undefined) : undefined;
    return depth && rows ? resnet(depth, rows) : undefined;
  },
};

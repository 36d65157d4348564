import type { GraphBuilder } from '../builder.js';
import { INPUT, type ValueId } from '../graph.js';
import { layersMatching, type Architecture, type ArchitectureFamily } from './architecture.js';

/**
 * The CIFAR ResNets of He et al. (2015) as in akamaster/pytorch_resnet_cifar10: depth 6n+2, three stages
 * of n BasicBlocks (16/32/64 channels), parameter-free "option A" shortcuts, global average pool, `linear`.
 * That code uses functional ReLUs and pooling, so those nodes take torchvision-style names (`relu`,
 * `layer1.0.relu`, `avgpool`) for convenience; every module name of the original resolves as well.
 */
export function buildCifarResNet(b: GraphBuilder, depth: number, numClasses: number): void {
  if ((depth - 2) % 6 !== 0) throw new Error(`CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got ${depth}`);
  const n = (depth - 2) / 6;
  let x = b.relu('relu', b.batchNorm('bn1', b.conv('conv1', INPUT, 3, 16, 3, { padding: 1 }), 16));
  let inC = 16;
  for (let stage = 0; stage < 3; stage++) {
    const width = 16 * 2 ** stage;
    for (let i = 0; i < n; i++) {
      const name = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      // The shortcut first, as torchvision builds its downsample: the add's second input then exists when
      // conv2 runs, so the add can run in conv2's epilogue (Engine.convEpilogueFusion).
      const shortcut: ValueId = stride !== 1 || inC !== width ? b.shortcutA(`${name}.shortcut`, x, width) : b.alias(`${name}.shortcut`, x);
      let y = b.relu(`${name}.relu`, b.batchNorm(`${name}.bn1`, b.conv(`${name}.conv1`, x, inC, width, 3, { stride, padding: 1 }), width));
      y = b.batchNorm(`${name}.bn2`, b.conv(`${name}.conv2`, y, width, width, 3, { padding: 1 }), width);
      x = b.alias(name, b.relu(`${name}.relu`, b.add(`${name}.add`, y, shortcut)));
      inC = width;
    }
    b.alias(`layer${stage + 1}`, x);
  }
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  b.linear('linear', b.flatten('flatten', x), inC, numClasses);
}

function inferCifarResNetDepth(has: (name: string) => boolean): number | undefined {
  if (!has('linear.weight') || has('layer4.0.conv1.weight')) return undefined;
  let n = 0;
  while (has(`layer1.${n}.conv1.weight`)) n++;
  return n > 0 ? 6 * n + 2 : undefined;
}

function cifarResNet(depth: number, numClasses: number): Architecture {
  return {
    name: `cifar_resnet${depth}`,
    family: 'cifar_resnet',
    numClasses,
    preprocessing: 'cifar',
    fixedInputSize: false,
    build: (b) => buildCifarResNet(b, depth, numClasses),
    camLayer: () => 'layer3',
    exits: (graph) => ['relu', ...layersMatching(graph, /^layer\d+\.\d+$/)],
  };
}

export const CIFAR_RESNET: ArchitectureFamily = {
  family: 'cifar_resnet',
  names: [20, 32, 44, 56, 110].map((d) => `cifar_resnet${d}`),
  fromName(name, numClasses) {
    const m = /^cifar_resnet(\d+)$/.exec(name);
    return m ? cifarResNet(Number(m[1]), numClasses) : undefined;
  },
  classifierWeight: () => 'linear.weight',
  detect(weights) {
    const depth = inferCifarResNetDepth((n) => weights.shapeOf(n) !== undefined);
    return depth ? cifarResNet(depth, weights.shapeOf('linear.weight')![0]) : undefined;
  },
};

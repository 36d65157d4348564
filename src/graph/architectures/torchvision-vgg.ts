import type { GraphBuilder } from '../builder.js';
import { INPUT, type Graph } from '../graph.js';
import type { Architecture, ArchitectureFamily } from './architecture.js';

type Cfg = (number | 'M')[];

export const VGG_CONFIGS: Record<'vgg11' | 'vgg13' | 'vgg16' | 'vgg19', Cfg> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};
type VggName = keyof typeof VGG_CONFIGS;

/**
 * torchvision.models.vgg*: `features.N` numbered like the nn.Sequential (conv, [bn], relu, ..., maxpool),
 * AdaptiveAvgPool2d(7, 7), then classifier.0/3/6 linear with relu at 1/4 and dropout at 2/5.
 */
export function buildTorchvisionVgg(b: GraphBuilder, cfg: Cfg, batchNorm: boolean, numClasses: number): void {
  let x = INPUT;
  let idx = 0;
  let c = 3;
  for (const v of cfg) {
    if (v === 'M') {
      x = b.maxPool(`features.${idx++}`, x, { kernel: 2, stride: 2 });
      continue;
    }
    x = b.conv(`features.${idx++}`, x, c, v, 3, { padding: 1, bias: true });
    if (batchNorm) x = b.batchNorm(`features.${idx++}`, x, v);
    x = b.relu(`features.${idx++}`, x);
    c = v;
  }
  b.alias('features', x);
  x = b.adaptiveAvgPool('avgpool', x, [7, 7]);
  x = b.flatten('flatten', x);
  x = b.relu('classifier.1', b.linear('classifier.0', x, c * 49, 4096));
  x = b.identity('classifier.2', x);
  x = b.relu('classifier.4', b.linear('classifier.3', x, 4096, 4096));
  x = b.identity('classifier.5', x);
  b.alias('classifier', b.linear('classifier.6', x, 4096, numClasses));
}

/** Recovers the cfg from `features.N.weight` keys (conv weights are 4-D; BN weights 1-D). */
function inferVggCfg(names: string[], shapeOf: (n: string) => readonly number[] | undefined): { cfg: Cfg; batchNorm: boolean } | undefined {
  const convs = names
    .map((n) => /^features\.(\d+)\.weight$/.exec(n))
    .filter((m): m is RegExpExecArray => !!m && shapeOf(m[0])!.length === 4)
    .map((m) => ({ index: Number(m[1]), out: shapeOf(m[0])![0] }))
    .sort((a, b) => a.index - b.index);
  if (!convs.length) return undefined;
  const batchNorm = names.includes(`features.${convs[0].index + 1}.running_mean`);
  const perConv = batchNorm ? 3 : 2;
  const cfg: Cfg = [];
  let expected = 0;
  for (const conv of convs) {
    if (conv.index === expected + 1) cfg.push('M');
    else if (conv.index !== expected) return undefined;
    cfg.push(conv.out);
    expected = conv.index + perConv;
  }
  cfg.push('M');
  return { cfg, batchNorm };
}

/** The last ReLU of `features`: the last convolutional stage before the final pool. */
export function lastFeatureRelu(graph: Graph): string {
  const last = [...graph.nodes].reverse().find((n) => n.op === 'relu' && n.name.startsWith('features.'));
  if (!last) throw new Error('internal: no ReLU in features');
  return last.name;
}

/** Every max-pool: the end of each stage. */
export function maxPoolExits(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === 'maxpool').map((n) => n.name);
}

function vgg(name: string, cfg: Cfg, batchNorm: boolean, numClasses: number): Architecture {
  return {
    name,
    family: 'vgg',
    numClasses,
    preprocessing: 'imagenet',
    fixedInputSize: false,
    build: (b) => buildTorchvisionVgg(b, cfg, batchNorm, numClasses),
    camLayer: lastFeatureRelu,
    exits: maxPoolExits,
  };
}

export const VGG: ArchitectureFamily = {
  family: 'vgg',
  names: Object.keys(VGG_CONFIGS).flatMap((v) => [v, `${v}_bn`]),
  fromName(name, numClasses) {
    const m = /^(vgg11|vgg13|vgg16|vgg19)(_bn)?$/.exec(name);
    return m ? vgg(name, VGG_CONFIGS[m[1] as VggName], !!m[2], numClasses) : undefined;
  },
  classifierWeight: () => 'classifier.6.weight',
  detect(weights) {
    const rows = weights.shapeOf('classifier.6.weight')?.[0];
    const found = rows ? inferVggCfg(weights.names(), (n) => weights.shapeOf(n)) : undefined;
    if (!found || !rows) return undefined;
    const convs = found.cfg.filter((v) => v !== 'M').length;
    return vgg(`vgg${convs + 3}${found.batchNorm ? '_bn' : ''}`, found.cfg, found.batchNorm, rows);
  },
};

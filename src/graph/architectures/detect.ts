import { WeightsError, type WeightSource } from '../weights.js';
import { inferCifarResNetDepth } from './cifar-resnet.js';
import { inferPlainCnnLayout, type PlainCnnLayout } from './plain-cnn.js';
import { inferResNetDepth, RESNET_CONFIGS, type ResNetDepth } from './torchvision-resnet.js';
import { inferVggCfg, VGG_CONFIGS, type VggName } from './torchvision-vgg.js';

export type Architecture =
  | { kind: 'resnet'; depth: ResNetDepth; numClasses: number; name: string }
  | { kind: 'vgg'; cfg: (number | 'M')[]; batchNorm: boolean; numClasses: number; name: string }
  | { kind: 'cifar_resnet'; depth: number; numClasses: number; name: string }
  | { kind: 'plain_cnn'; layout: PlainCnnLayout; name: string };

/** Parses names such as `resnet50`, `vgg16_bn`, `cifar_resnet56` (used with seeded weights too). */
export function architectureFromName(name: string, numClasses: number): Architecture | undefined {
  let m = /^resnet(18|34|50|101|152)$/.exec(name);
  if (m) return { kind: 'resnet', depth: Number(m[1]) as ResNetDepth, numClasses, name };
  m = /^(vgg11|vgg13|vgg16|vgg19)(_bn)?$/.exec(name);
  if (m) return { kind: 'vgg', cfg: VGG_CONFIGS[m[1] as VggName], batchNorm: !!m[2], numClasses, name };
  m = /^cifar_resnet(\d+)$/.exec(name);
  if (m) return { kind: 'cifar_resnet', depth: Number(m[1]), numClasses, name };
  return undefined;
}

/** Names of the architectures the weights loader builds (`resnet50`, `vgg16_bn`, `cifar_resnet20`, ...). */
export const KNOWN_ARCHITECTURES = [
  ...Object.keys(RESNET_CONFIGS).map((d) => `resnet${d}`),
  ...Object.keys(VGG_CONFIGS).flatMap((v) => [v, `${v}_bn`]),
  'cifar_resnet20',
  'cifar_resnet32',
  'cifar_resnet44',
  'cifar_resnet56',
  'cifar_resnet110',
  'plain_cnn',
];

/**
 * The architecture of a weights file: from its metadata when stated, else inferred from the key names
 * where that is unambiguous; otherwise an error saying what is missing.
 */
export function detectArchitecture(weights: WeightSource, metadata: Record<string, string>, inputSize: [number, number]): Architecture {
  const names = weights.names();
  const has = (n: string) => weights.shapeOf(n) !== undefined;
  const rows = (n: string) => weights.shapeOf(n)?.[0];
  const declared = metadata.architecture;

  if (declared === 'cifar_resnet' || (declared === undefined && inferCifarResNetDepth(has))) {
    const depth = Number(metadata.depth ?? inferCifarResNetDepth(has));
    return { kind: 'cifar_resnet', depth, numClasses: rows('linear.weight') ?? 10, name: `cifar_resnet${depth}` };
  }
  const byName = declared ? architectureFromName(declared, rows('fc.weight') ?? rows('classifier.6.weight') ?? 1000) : undefined;
  if (byName) return byName;

  const resnetDepth = has('fc.weight') ? inferResNetDepth(has) : undefined;
  if (resnetDepth) return { kind: 'resnet', depth: resnetDepth, numClasses: rows('fc.weight')!, name: `resnet${resnetDepth}` };
  if (has('classifier.6.weight')) {
    const vgg = inferVggCfg(names, (n) => weights.shapeOf(n));
    if (vgg) {
      const convs = vgg.cfg.filter((v) => v !== 'M').length;
      return { kind: 'vgg', ...vgg, numClasses: rows('classifier.6.weight')!, name: `vgg${convs + 3}${vgg.batchNorm ? '_bn' : ''}` };
    }
  }
  if (declared === 'plain_cnn' || declared?.startsWith('features.0 conv') || (declared === undefined && has('classifier.weight'))) {
    const layout = inferPlainCnnLayout(names, (n) => weights.shapeOf(n), inputSize);
    if (layout) return { kind: 'plain_cnn', layout, name: 'plain_cnn' };
  }
  throw new WeightsError(
    `${weights.description}: cannot tell the architecture${declared ? ` (metadata says "${declared}")` : ''}. ` +
      `Known: ${KNOWN_ARCHITECTURES.join(', ')}. Export the weights with tools/export_weights.py, which records it in the metadata, ` +
      'or pass the architecture name explicitly.',
  );
}

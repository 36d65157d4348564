import type { GraphBuilder } from '../builder.js';
import { INPUT } from '../graph.js';
import type { Architecture, ArchitectureFamily } from './architecture.js';
import { lastFeatureRelu, maxPoolExits } from './torchvision-vgg.js';

/**
 * A plain conv stack named like an nn.Sequential `features` plus one `classifier` linear, e.g. the
 * ConvNetJS CIFAR-10 net: features.0 conv5x5 pad 2, .1 ReLU, .2 MaxPool 2x2, ... , classifier on the
 * CHW flattening. Layout is read from the keys: a conv at index i is followed by a ReLU at i+1 and,
 * when the next conv is at i+3 (or it is the last), a 2x2 max-pool at i+2. "Same" padding (k-1)/2.
 */
interface PlainCnnLayout {
  convs: { index: number; cin: number; cout: number; k: number; pool: boolean }[];
  features: number;
  classes: number;
  inputSize: [number, number];
}

export function buildPlainCnn(b: GraphBuilder, layout: PlainCnnLayout): void {
  let x = INPUT;
  for (const c of layout.convs) {
    x = b.conv(`features.${c.index}`, x, c.cin, c.cout, c.k, { padding: (c.k - 1) / 2, bias: true });
    x = b.relu(`features.${c.index + 1}`, x);
    if (c.pool) x = b.maxPool(`features.${c.index + 2}`, x, { kernel: 2, stride: 2 });
  }
  b.alias('features', x);
  b.linear('classifier', b.flatten('flatten', x), layout.features, layout.classes);
}

function inferPlainCnnLayout(
  names: string[],
  shapeOf: (n: string) => readonly number[] | undefined,
  inputSize: [number, number],
): PlainCnnLayout | undefined {
  const cls = shapeOf('classifier.weight');
  if (!cls || cls.length !== 2) return undefined;
  // Canonical indices only ("features.00" is not "features.0"): the builder asks for features.<index>.
  const idx = names
    .map((n) => /^features\.(0|[1-9]\d*)\.weight$/.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (!idx.length) return undefined;
  if (idx.some((index) => shapeOf(`features.${index}.weight`)?.length !== 4)) return undefined;
  let [h, w] = inputSize;
  const convs = idx.map((index, i) => {
    const s = shapeOf(`features.${index}.weight`)!;
    const pool = i === idx.length - 1 || idx[i + 1] - index === 3;
    return { index, cin: s[1], cout: s[0], k: s[2], pool };
  });
  for (const c of convs) if (c.pool) [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
  const features = convs[convs.length - 1].cout * h * w;
  return { convs, features, classes: cls[0], inputSize };
}

function plainCnn(layout: PlainCnnLayout): Architecture {
  return {
    name: 'plain_cnn',
    family: 'plain_cnn',
    numClasses: layout.classes,
    preprocessing: 'plain',
    fixedInputSize: true,
    build: (b) => buildPlainCnn(b, layout),
    camLayer: lastFeatureRelu,
    exits: maxPoolExits,
  };
}

export const PLAIN_CNN: ArchitectureFamily = {
  family: 'plain_cnn',
  names: ['plain_cnn'],
  // The layout is read from the weights; a name alone does not fix it.
  fromName: () => undefined,
  classifierWeight: () => 'classifier.weight',
  detect(weights, inputSize) {
    const layout = inferPlainCnnLayout(weights.names(), (n) => weights.shapeOf(n), inputSize);
    return layout ? plainCnn(layout) : undefined;
  },
};

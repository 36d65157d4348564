/** What a user should not have to type: input size, normalisation, class names. From metadata, else defaults. */
export interface ModelInfo {
  /** e.g. `resnet50`, `vgg16_bn`, `cifar_resnet20`, `plain_cnn`. */
  architecture: string;
  inputSize: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
  /** torchvision-style Resize(shorter side) before the centre crop, when the model was trained so. */
  resize?: number;
  classes: string[];
  source: string;
  /** Test accuracy recorded by whoever trained the weights, when the metadata states it. */
  accuracy?: string;
}

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** The name a class gets when the weights file names none. */
const placeholderClassName = (i: number) => `class ${i}`;

/** Whether the classes carry real names (from the file's metadata), not the numbered placeholders. */
export function hasClassNames(info: Pick<ModelInfo, 'classes'>): boolean {
  return info.classes.some((c, i) => c !== placeholderClassName(i));
}

export function defaultInfo(family: 'imagenet' | 'cifar' | 'plain', numClasses: number): Omit<ModelInfo, 'architecture' | 'source'> {
  const classes = Array.from({ length: numClasses }, (_, i) => placeholderClassName(i));
  if (family === 'imagenet') return { inputSize: [224, 224], mean: IMAGENET_MEAN, std: IMAGENET_STD, resize: 256, classes };
  if (family === 'cifar') return { inputSize: [32, 32], mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201], classes };
  // ConvNetJS convention: x/255 - 0.5.
  return { inputSize: [32, 32], mean: [0.5, 0.5, 0.5], std: [1, 1, 1], classes };
}

function parseJson<T>(metadata: Record<string, string>, key: string, source: string): T | undefined {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${source}: metadata "${key}" is not valid JSON: ${text.slice(0, 80)}`);
  }
}

/** Overrides defaults with whatever the file's metadata states. */
export function infoFromMetadata(
  metadata: Record<string, string>,
  defaults: Omit<ModelInfo, 'architecture' | 'source'>,
  architecture: string,
  source: string,
): ModelInfo {
  const normalize = parseJson<{ mean: number[]; std: number[] }>(metadata, 'normalize', source);
  const classes = parseJson<string[]>(metadata, 'classes', source);
  const inputSize = parseJson<[number, number]>(metadata, 'input_size', source);
  const resize = metadata.resize !== undefined ? Number(metadata.resize) : defaults.resize;
  if (classes && classes.length !== defaults.classes.length) {
    throw new Error(`${source}: metadata lists ${classes.length} class names but the classifier has ${defaults.classes.length} outputs`);
  }
  return {
    architecture,
    source,
    inputSize: inputSize ?? defaults.inputSize,
    mean: (normalize?.mean as [number, number, number]) ?? defaults.mean,
    std: (normalize?.std as [number, number, number]) ?? defaults.std,
    resize: Number.isFinite(resize) ? resize : undefined,
    classes: classes ?? defaults.classes,
    accuracy: metadata.accuracy,
  };
}

import { WeightsError } from './weights.js';

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

/** Largest input side a model may declare: the executor and the image budget are sized for this. */
export const MAX_INPUT_SIDE = 4096;

function parseJson(metadata: Record<string, string>, key: string, source: string): unknown {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new WeightsError(`${source}: metadata "${key}" is not valid JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** Metadata is untrusted text: every field is checked for type and range, the message names the key. */
function bad(source: string, key: string, what: string): WeightsError {
  return new WeightsError(`${source}: metadata "${key}" must be ${what}; re-export the weights with tools/export_weights.py`);
}

const isInt = (v: unknown, lo: number, hi: number): v is number => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

/** The model's input size from metadata "input_size" ([H, W]), checked; undefined when absent. */
export function metadataInputSize(metadata: Record<string, string>, source: string): [number, number] | undefined {
  const v = parseJson(metadata, 'input_size', source);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => isInt(d, 1, MAX_INPUT_SIDE)))
    throw bad(source, 'input_size', `[height, width], two integers from 1 to ${MAX_INPUT_SIDE}`);
  return [v[0], v[1]];
}

function metadataNormalize(metadata: Record<string, string>, source: string): { mean: Rgb3; std: Rgb3 } | undefined {
  const v = parseJson(metadata, 'normalize', source);
  if (v === undefined) return undefined;
  const triple = (x: unknown, positive: boolean) =>
    Array.isArray(x) && x.length === 3 && x.every((c) => typeof c === 'number' && Number.isFinite(c) && (!positive || c > 0));
  const o = v as { mean?: unknown; std?: unknown };
  if (typeof v !== 'object' || v === null || !triple(o.mean, false) || !triple(o.std, true))
    throw bad(source, 'normalize', '{"mean": [r, g, b], "std": [r, g, b]} with finite numbers and every std above 0');
  return { mean: o.mean as Rgb3, std: o.std as Rgb3 };
}

function metadataClasses(metadata: Record<string, string>, source: string): string[] | undefined {
  const v = parseJson(metadata, 'classes', source);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((c) => typeof c === 'string' && c.length <= 256))
    throw bad(source, 'classes', 'a JSON list of class names (strings of at most 256 characters)');
  return v as string[];
}

type Rgb3 = [number, number, number];

/** Overrides defaults with whatever the file's metadata states. */
export function infoFromMetadata(
  metadata: Record<string, string>,
  defaults: Omit<ModelInfo, 'architecture' | 'source'>,
  architecture: string,
  source: string,
): ModelInfo {
  const normalize = metadataNormalize(metadata, source);
  const classes = metadataClasses(metadata, source);
  const inputSize = metadataInputSize(metadata, source) ?? defaults.inputSize;
  let resize = defaults.resize;
  if (metadata.resize !== undefined) {
    resize = Number(metadata.resize);
    if (!isInt(resize, Math.max(...inputSize), MAX_INPUT_SIDE))
      throw bad(
        source,
        'resize',
        `an integer from the input size ${Math.max(...inputSize)} to ${MAX_INPUT_SIDE} (the shorter side before the centre crop)`,
      );
  }
  if (classes && classes.length !== defaults.classes.length) {
    throw new WeightsError(
      `${source}: metadata lists ${classes.length} class names but the classifier has ${defaults.classes.length} outputs`,
    );
  }
  return {
    architecture,
    source,
    inputSize,
    mean: normalize?.mean ?? defaults.mean,
    std: normalize?.std ?? defaults.std,
    resize,
    classes: classes ?? defaults.classes,
    accuracy: metadata.accuracy,
  };
}

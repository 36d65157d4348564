/**
 * The TF.js WebGPU peer for `npm run bench:peers`: torchvision's ResNet-18/50 and VGG-16 built with
 * tf.layers (random weights: timing does not depend on the values), on the same Dawn adapter as
 * LayerTracer (navigator.gpu is dawn.node's GPU). TF.js is a devDependency used only here, loaded
 * lazily so the rest of the bench runs without it.
 */

// The full package: gradients (tf.grad) need the layers and the op gradients registered.
type Tf = typeof import('@tensorflow/tfjs');
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;
type LayersModel = import('@tensorflow/tfjs').LayersModel;

export interface TfjsPeer {
  tf: Tf;
  backend: string;
}

/** Loads TF.js with its WebGPU backend on `gpu`; null (with the reason) when it cannot. */
export async function loadTfjs(gpu: GPU): Promise<TfjsPeer | string> {
  try {
    (globalThis as { navigator?: unknown }).navigator ??= { gpu };
    const nav = (globalThis as { navigator: { gpu?: GPU } }).navigator;
    nav.gpu ??= gpu;
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") failed';
    await tf.ready();
    return { tf, backend: tf.getBackend() };
  } catch (err) {
    return `TF.js WebGPU unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
}

function convBn(tf: Tf, x: SymbolicTensor, filters: number, k: number, stride: number, relu: boolean): SymbolicTensor {
  // torchvision pads k//2 on every side; TF's 'same' pads asymmetrically for stride 2, explicit padding matches.
  const pad = Math.floor(k / 2);
  let y = pad ? (tf.layers.zeroPadding2d({ padding: pad }).apply(x) as SymbolicTensor) : x;
  y = tf.layers.conv2d({ filters, kernelSize: k, strides: stride, padding: 'valid', useBias: false }).apply(y) as SymbolicTensor;
  y = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(y) as SymbolicTensor;
  return relu ? (tf.layers.reLU().apply(y) as SymbolicTensor) : y;
}

function basicBlock(tf: Tf, x: SymbolicTensor, planes: number, stride: number, downsample: boolean): SymbolicTensor {
  let y = convBn(tf, x, planes, 3, stride, true);
  y = convBn(tf, y, planes, 3, 1, false);
  const shortcut = downsample ? convBn(tf, x, planes, 1, stride, false) : x;
  return tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut]) as SymbolicTensor) as SymbolicTensor;
}

function bottleneck(tf: Tf, x: SymbolicTensor, planes: number, stride: number, downsample: boolean): SymbolicTensor {
  let y = convBn(tf, x, planes, 1, 1, true);
  y = convBn(tf, y, planes, 3, stride, true); // v1.5: the stride sits on the 3x3
  y = convBn(tf, y, planes * 4, 1, 1, false);
  const shortcut = downsample ? convBn(tf, x, planes * 4, 1, stride, false) : x;
  return tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut]) as SymbolicTensor) as SymbolicTensor;
}

function resnet(tf: Tf, depth: 18 | 50): LayersModel {
  const input = tf.input({ shape: [224, 224, 3] });
  let x = convBn(tf, input, 64, 7, 2, true);
  x = tf.layers.zeroPadding2d({ padding: 1 }).apply(x) as SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as SymbolicTensor;
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3];
  const expansion = depth === 18 ? 1 : 4;
  let inPlanes = 64;
  [64, 128, 256, 512].forEach((planes, stage) => {
    for (let b = 0; b < blocks[stage]; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const downsample = b === 0 && (stride !== 1 || inPlanes !== planes * expansion);
      x = depth === 18 ? basicBlock(tf, x, planes, stride, downsample) : bottleneck(tf, x, planes, stride, downsample);
      inPlanes = planes * expansion;
    }
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor;
  const out = tf.layers.dense({ units: 1000 }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function vgg16(tf: Tf): LayersModel {
  const input = tf.input({ shape: [224, 224, 3] });
  let x: SymbolicTensor = input;
  for (const [filters, n] of [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ]) {
    for (let i = 0; i < n; i++)
      x = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  }
  x = tf.layers.flatten().apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 4096, activation: 'relu' }).apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 4096, activation: 'relu' }).apply(x) as SymbolicTensor;
  const out = tf.layers.dense({ units: 1000 }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

export interface TfjsWorkload {
  /** One timed run: dispatch and wait for the result on the CPU. */
  run(): Promise<void>;
  dispose(): void;
}

/** Forward or forward + backward to the input (d logit[0] / d x), batch 1 at 224x224. */
export function tfjsWorkload(peer: TfjsPeer, arch: 'resnet18' | 'resnet50' | 'vgg16', backward: boolean): TfjsWorkload {
  const { tf } = peer;
  const model = arch === 'vgg16' ? vgg16(tf) : resnet(tf, arch === 'resnet18' ? 18 : 50);
  const x = tf.randomUniform([1, 224, 224, 3], -1, 1);
  const logit0 = (input: import('@tensorflow/tfjs').Tensor) =>
    (model.apply(input, { training: false }) as import('@tensorflow/tfjs').Tensor).slice([0, 0], [1, 1]).sum();
  const grad = tf.grad(logit0);
  return {
    async run() {
      const out = tf.tidy(() => (backward ? grad(x) : (model.apply(x, { training: false }) as import('@tensorflow/tfjs').Tensor)));
      await out.data();
      out.dispose();
    },
    dispose() {
      x.dispose();
      model.dispose();
    },
  };
}

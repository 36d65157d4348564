// Gradient methods: input-space maps from one backward pass (saliency, DeconvNet, guided backprop)
// or averaged over many (SmoothGrad over noisy copies, Integrated Gradients along a path from a baseline).
import { explain, loadModel, readImage, writePng } from 'layertracer';

const model = await loadModel('default-vgg');
const image = await readImage('heart.png');
for (const method of ['saliency', 'deconvnet', 'guided-backprop', 'smoothgrad', 'integrated-gradients']) {
  // samples (SmoothGrad) and steps (Integrated Gradients) default to 50; 10 keeps the example quick.
  const result = await explain(model, image, { method, samples: 10, steps: 10, seed: 0 });
  await writePng(`out/gradients/${method}.png`, result.overlay, { force: true });
  console.log(`${method}: ${result.kind} map [${result.shape}] for class ${result.targetLabel}`);
}
model.release();

// Optimisation: L2-CAF learns a spatial filter on a layer's activations that keeps the model's output
// (class-oblivious) or the target class (class-specific) with the smallest footprint.
import { inputBatch, l2caf, loadModel, overlayHeatmap, readImage, writePng } from 'layertracer';

const model = await loadModel('default-vgg');
const image = await readImage('heart.png');
const x = inputBatch(model, image);
for (const mode of ['oblivious', 'specific']) {
  const result = await l2caf(model, x, { mode, maxSteps: 200 });
  const [, , height, width] = result.maps.shape;
  const map = await result.maps.readF32();
  result.maps.release();
  await writePng(`out/optimisation/l2caf-${mode}.png`, overlayHeatmap(image, map, width, height), { force: true });
  const run = result.optimisation[0];
  console.log(`L2-CAF (${mode}) at ${result.layer}: ${run.steps} steps, final loss ${run.losses.at(-1).toFixed(4)}`);
}
x.release();
model.release();

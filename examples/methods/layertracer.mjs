// LayerTracer: one RISE mask set scored at every E2CM exit (by the class-mean confidence there), so the
// maps show where each depth of the network looks; the exit is where E2CM would stop computing.
import { inputBatch, layerTracer, loadClassMeans, loadModel, overlayHeatmap, readImage, stretchToUnit, writePng } from 'layertracer';

const model = await loadModel('default-resnet');
const means = await loadClassMeans('default-resnet'); // made by `layertracer class-means` for your own model
const image = await readImage('star.png');
const x = inputBatch(model, image);
const traced = await layerTracer(model, x, means, { masks: 300, seed: 0, threshold: 0.2 });
for (const layer of traced.layers) {
  const map = await traced.maps.get(layer).readF32();
  await writePng(`out/layertracer/${layer}.png`, overlayHeatmap(image, stretchToUnit(map), image.width, image.height), { force: true });
}
console.log(`${traced.layers.length} maps (${traced.layers.join(', ')}); E2CM exits at ${traced.exitLayer[0] ?? 'the final classifier'}`);
traced.release();
x.release();
model.release();

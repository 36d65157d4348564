// CAM family: a map at a layer from its activations weighted by gradients (Grad-CAM and its variants),
// or by the classifier's weights (CAM, for networks ending in global average pooling + one linear layer).
import { explain, inputBatch, layerCamFused, loadModel, readImage, writePng } from 'layertracer';

const model = await loadModel('default-resnet');
const image = await readImage('heart.png');
for (const method of ['cam', 'grad-cam', 'grad-cam++', 'xgrad-cam', 'hires-cam', 'layer-cam', 'hybrid', 'guided-grad-cam']) {
  const result = await explain(model, image, { method, target: 'heart', overlaySize: 256 });
  await writePng(`out/cam/${method}.png`, result.overlay, { force: true });
  console.log(`${method} at ${result.layer ?? 'the last stage'}: top-1 ${result.predictions[0].label}`);
}
// Any layer by its PyTorch name; earlier layers give finer, noisier maps.
for (const layer of ['layer1', 'layer2', 'layer3']) {
  const result = await explain(model, image, { method: 'grad-cam', layer, overlaySize: 256 });
  await writePng(`out/cam/grad-cam.${layer}.png`, result.overlay, { force: true });
}
// The lower-level API: methods take a normalised batch on the GPU and return maps the caller releases.
const x = inputBatch(model, image);
const fused = await layerCamFused(model, x, ['layer1', 'layer2', 'layer3']);
console.log(`LayerCAM fused over ${fused.layer}: maps [${fused.maps.shape}]`);
fused.maps.release();
x.release();
model.release();

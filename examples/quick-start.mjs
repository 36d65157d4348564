import { explain, loadModel, readImage, writePng } from 'layertracer';

const model = await loadModel('default-vgg'); // or the path of your own .safetensors weights
const result = await explain(model, await readImage('star.png'), { method: 'grad-cam', layer: 'features.12', target: 'top1' });
await writePng('star.grad-cam.png', result.overlay);
console.log(result.predictions[0]); // { prob: 0.99..., index: 3, label: 'star' }
model.release();

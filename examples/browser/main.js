import { drawImage, explain, loadModel, readImage } from 'layertracer';

const model = await loadModel('default-vgg.safetensors'); // a URL, a File or the bytes of your own weights
const result = await explain(model, await readImage(document.querySelector('#picture')), { method: 'grad-cam', target: 'top1' });
drawImage(document.querySelector('#overlay'), result.overlay);
document.querySelector('#top1').textContent = `${result.predictions[0].label} (${(result.predictions[0].prob * 100).toFixed(1)} %)`;
model.release();

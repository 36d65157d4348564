// Perturbation: RISE scores random masks by the model's output, so it needs no gradients at all.
// Then the causal metrics of that map: insertion (reveal the most salient pixels first; higher is better)
// and deletion (remove them first; lower is better).
import { causalMetrics, explain, inputBatch, loadModel, readImage, writePng } from 'layertracer';

const model = await loadModel('default-vgg');
const image = await readImage('star.png');
// 4000 masks by default; 300 keep the example quick and the map coarser.
const result = await explain(model, image, { method: 'rise', masks: 300, seed: 0, overlaySize: 256 });
await writePng('out/perturbation/rise.png', result.overlay, { force: true });

const x = inputBatch(model, image);
const { insertion, deletion } = await causalMetrics(model, x, result.map, { pixelsPerStep: 128 });
x.release();
console.log(`RISE on ${result.targetLabel}: insertion AUC ${insertion.auc.toFixed(3)}, deletion AUC ${deletion.auc.toFixed(3)}`);
model.release();

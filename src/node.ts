/**
 * LayerTracer for Node: the whole library (index.ts) plus its file side: models and pictures from
 * paths, URLs or bytes, PNG and safetensors files out. The package's `layertracer` import resolves here
 * under Node, as does `layertracer/node`.
 */
export * from './index.js';
export { loadModel, loadClassMeans, readImage, embeddedModelPath, type ModelSource, type ImageInput } from './api/node-io.js';
export { readImageFile, decodeImageBytes, type DecodeLimits } from './image/decode-node.js';
export { writePng, encodePng, OutputExistsError } from './image/encode-node.js';
export { readSafetensorsFile, writeSafetensorsFile } from './io/safetensors-node.js';

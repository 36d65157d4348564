/**
 * LayerTracer for browsers: the whole library (index.ts) plus its page side: models from URLs or files,
 * pictures from files, <img>, canvases or bitmaps, results drawn into a canvas. The package's
 * `layertracer` import resolves here in a browser bundle. Nothing here reaches Node.
 */
export * from './index.js';
export { loadModel, loadClassMeans, readImage, drawImage, toImageData, type ModelSource, type ImageInput } from './api/browser-io.js';
export { decodeImageBlob } from './image/decode-browser.js';

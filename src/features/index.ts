/**
 * Feature visualisation (docs/design.md §2.14-2.16): filters, receptive fields and maximally activating patches,
 * representation-space neighbours and 2-D maps. Browser-safe; the Node-only image-folder source is in
 * source-node.ts.
 */
export { FeatureInputError } from './errors.js';
export {
  receptiveField,
  receptiveFieldBox,
  unitCentre,
  unitsSeeingPixel,
  type ReceptiveField,
  type Box,
  type Pair,
} from './receptive-field.js';
export {
  filterGrid,
  readConvWeights,
  rgbFilterTiles,
  greyFilterTiles,
  firstConvLayer,
  convLayers,
  type ConvWeights,
  type FilterGrid,
  type FilterGridOptions,
} from './filters.js';
export { datasetSource, picturesSource, type ImageSource, type Normalisation } from './image-source.js';
export { scanSource, type ScanOptions } from './scan.js';
export {
  maxActivatingPatches,
  renderPatches,
  cropBox,
  type PatchScan,
  type PatchOptions,
  type ChannelPatches,
  type TopActivation,
  type PatchPictures,
} from './patches.js';
export { extractFeatures, defaultFeatureLayer, type Features, type FeatureOptions } from './representation.js';
export {
  nearestNeighbours,
  pairwiseDistances,
  topKSmallest,
  parseMetric,
  METRICS,
  type Metric,
  type Neighbours,
  type NeighbourOptions,
} from './knn.js';
export { neighbourStrips, type StripOptions } from './strips.js';
export { pca, jacobiEigen, topEigen, type PcaResult } from './pca.js';
export {
  tsne,
  trustworthiness,
  conditionalAffinities,
  jointProbabilities,
  squaredDistances,
  type TsneOptions,
  type TsneResult,
} from './tsne.js';
export { scatterPlot, scatterSvg, classColor, type ScatterOptions } from './plot.js';
export { drawText, textWidth } from './font.js';

/**
 * LayerTracer's library API: the same in Node (Dawn) and in a browser (navigator.gpu).
 * Node-only helpers (file reading/writing) live in their own modules: io/safetensors-node.ts,
 * image/decode-node.ts, image/encode-node.ts.
 */
export * from './gpu/index.js';

// Models
export { Model, modelFromFile, seededModel } from './graph/model.js';
export type { ModelInfo } from './graph/model-info.js';
export { Trace, type ForwardOptions, type BackwardOptions, type BackwardSeed, type BackwardResult } from './graph/executor.js';
export { KNOWN_ARCHITECTURES } from './graph/architectures/registry.js';
export { WeightsError } from './graph/weights.js';
export { parseSafetensors, fetchSafetensors, writeSafetensors, SafetensorsError, type SafetensorsFile } from './io/safetensors.js';
export { datasetFromFile, normalizedBatch, type ImageDataset } from './data/image-dataset.js';

// Kernels (for building new methods)
export { reluForward, reluBackward, RELU_RULES, type ReluRule } from './kernels/relu.js';

// Attribution methods
export type { Attribution, MethodOptions, Target } from './methods/common.js';
export { saliency } from './methods/saliency.js';
export { guidedBackprop, deconvnet, type NeuronTarget } from './methods/guided-backprop.js';
export { cam } from './methods/cam.js';
export { gradCam } from './methods/grad-cam.js';
export { guidedGradCam } from './methods/guided-grad-cam.js';
export { layerCam, layerCamFused } from './methods/layer-cam.js';
export { hybridGradLayerCam } from './methods/hybrid.js';
export { gradCamPlusPlus, xGradCam, hiResCam } from './methods/cam-variants.js';
export { scoreCam, type ScoreCamOptions } from './methods/score-cam.js';
export { smoothGrad, type SmoothGradOptions } from './methods/smooth-grad.js';
export { integratedGradients, type IntegratedGradientsOptions, type IntegratedGradientsBaseline } from './methods/integrated-gradients.js';
export { quadrature, QUADRATURE_RULES, type QuadratureRule } from './methods/quadrature.js';
export { randomMap, centreGaussianMap, edgeMap } from './methods/baselines.js';
export { toHeatmap } from './methods/heatmap.js';
export { METHODS, BASELINES, findMethod } from './methods/registry.js';

// E2CM, LayerTracer, L2-CAF, RISE and metrics
export { rise, type RiseOptions } from './methods/rise.js';
export { layerTracer, type LayerTracerResult, type LayerTracerOptions, type MaskScore } from './methods/layertracer.js';
export { layerEvidence, type LayerEvidence, type ImageEvidence } from './methods/layer-evidence.js';
export { l2caf, type L2CafOptions } from './methods/l2caf.js';
export {
  computeClassMeans,
  calibrationNote,
  type ClassMeans,
  type MeansCalibration,
  type DataSplit,
  type ExitCalibrationStats,
} from './e2cm/class-means.js';
export type { LabelledBatches } from './data/labelled-batches.js';
export { calibrateClassMeans } from './e2cm/calibrate.js';
export { expectedCalibrationError, fitTemperature, negativeLogLikelihood } from './e2cm/calibration.js';
export { searchExitThresholds, searchSingleThreshold } from './e2cm/thresholds.js';
export { classMeansFromFile, classMeansToTensors } from './e2cm/means-file.js';
export {
  observeExits,
  predictExits,
  simulateEarlyExit,
  type EarlyExitResult,
  type ExitObservations,
  type ExitPredictions,
} from './e2cm/early-exit.js';
export { causalMetrics, trapezoidAuc, type CausalResult } from './metrics/insertion-deletion.js';
export { localisationScore } from './metrics/localisation.js';
export {
  evaluateMethods,
  summarise,
  meanCurves,
  type MethodEvaluation,
  type MethodSummary,
  type ImageScore,
  type CausalMetric,
  type PairedComparison,
} from './metrics/evaluation.js';
export { bootstrapMean, wilcoxonSignedRank, type Interval, type SignedRankTest } from './metrics/statistics.js';
export { modelRandomisationTest, type SanityOptions, type SanityResult, type SanityStep } from './sanity/sanity.js';
export { ModelRandomiser, randomisableLayers, type Granularity, type RandomisableLayer } from './sanity/randomise.js';
export { spearman, ssim, hog, hogSimilarity } from './sanity/similarity.js';
export { normalAt, fillNormal } from './util/random.js';

// Feature visualisation
export * from './features/index.js';

// Pictures (browser-safe)
export * from './image/index.js';

// The high-level API. Its platform side (loadModel, readImage, writePng / drawImage) comes with the
// Node entry (node.ts) and the browser entry (browser.ts), under the same names.
export {
  explain,
  predict,
  inputBatch,
  renderExplanation,
  type Explanation,
  type ExplainOptions,
  type PredictOptions,
  type RenderOptions,
} from './api/explain.js';
export { topPredictions, type Prediction } from './api/predictions.js';
export { stretchToUnit } from './util/stretch.js';
export { stretchTogether } from './report/strip.js';
export { resolveClassChoice, type ClassChoice } from './api/target.js';
export { EMBEDDED_MODELS, modelFromSafetensors, type LoadModelOptions } from './api/load-model.js';
export type { MethodEntry, MethodRunOptions } from './methods/registry.js';

// Types the public signatures above mention, exported so declarations and the API reference are complete.
// The engine's and the graph's internals (BufferPool, Storage, WgslReflection, Graph, Architecture) stay
// unexported on purpose: typedoc.json lists them under intentionallyNotExported.
export type { TensorFile } from './graph/weights.js';
export type { HostTensor, TensorInfo, TensorSpec, TensorData, DType as SafetensorsDType } from './io/safetensors.js';
export type { DatasetFile } from './data/image-dataset.js';
export type { GradientMethodOptions } from './methods/guided-backprop.js';
export type { L2CafTrace } from './methods/l2caf.js';
export type { ClassMeansOptions } from './e2cm/class-means.js';
export type { FeatureMode } from './e2cm/features.js';
export type { CausalCurve, CausalMetricOptions } from './metrics/insertion-deletion.js';
export type { LocalisationScore } from './metrics/localisation.js';
export type { GreyTileOptions } from './features/filters.js';
export type { PcaOptions } from './features/pca.js';
export type { PatchGridOptions } from './features/patches.js';
// What a page or report shows beside the maps: layers to offer, how to read each method, RISE's mask
// budget, display stretching, and the generated sample pictures.
export { camLayers, type LayerChoice } from './graph/layer-choices.js';
export { METHOD_GUIDE, methodGuide } from './report/method-guide.js';
export { riseMasksForBudget, type RiseBudget, type RiseBudgetOptions } from './methods/rise-budget.js';
export { generateSample, SPLIT_SEEDS, SYNTHETIC_CLASSES, SYNTHETIC_SIZE, type SyntheticSample } from './data/synthetic/index.js';
export type { BackgroundKind, BoundingBox, SyntheticSplit } from './data/synthetic/generator.js';
export type { BaselineOptions } from './methods/baselines.js';
export type { CalibrateOptions } from './e2cm/calibrate.js';
export type { DeviceTraits } from './gpu/capabilities.js';
export type { EvaluateOptions } from './metrics/evaluation.js';
export type { HybridOptions } from './methods/hybrid.js';
export type { LayerEvidenceOptions } from './methods/layer-evidence.js';
export { SIMILARITY_MEASURES, type SimilarityMeasure, type SimilarityScores } from './sanity/sanity.js';
export type { FrontPoint, ThresholdChoice, ThresholdSearchOptions } from './e2cm/thresholds.js';
export type { TraceEvent } from './gpu/profile-report.js';
export type { WeightCheckOptions } from './graph/weights.js';
export { MEANS_FORMAT } from './e2cm/means-file.js';

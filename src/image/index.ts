/**
 * Browser-safe image API. Node-only entry points are imported from their own modules so a
 * browser bundle never pulls in node:fs or pngjs: decode-node.ts (readImageFile,
 * decodeImageBytes) and encode-node.ts (writePng, encodePng); the browser decoder is in
 * decode-browser.ts (decodeImageBlob).
 */
export { createRgbImage, assertRgbImage, compositeRgbaOverWhite, blit, upscaleNearest, type RgbImage, type Rgb } from './image.js';
export { ImageDecodeError } from './errors.js';
export { detectImageFormat, type DecodableFormat, type DetectedFormat } from './format.js';
export { resizeBilinear, resizeImage, resizeImageAntialiased } from './resize.js';
export {
  resizeShorterSide,
  centerCrop,
  toNormalizedCHW,
  normalizedCHWToImage,
  imagesToBatch,
  preprocessForModel,
  type Size2,
  type ChannelStats,
  type Batch,
  type ModelInputSpec,
  type ModelInput,
  type Region,
} from './preprocess.js';
export {
  applyColormap,
  colormapColor,
  parseColormapName,
  isDiverging,
  COLORMAP_NAMES,
  type ColormapName,
  type ColormapOptions,
} from './colormap.js';
export {
  overlayHeatmap,
  overlayHeatmapOnOriginal,
  pictureOnOriginal,
  sampleIntoRegion,
  gradientToImage,
  greyMapToImage,
  type OverlayOptions,
  type GradientImageOptions,
} from './overlay.js';
export { tileGrid, hstack, vstack, type GridOptions, type StackOptions } from './grid.js';
export { outlineMask } from './mask-outline.js';

export {
  BACKGROUND_KINDS,
  generateRange,
  generateSample,
  generateSplit,
  SPLIT_SEEDS,
  SYNTHETIC_CLASSES,
  SYNTHETIC_GENERATOR,
  SYNTHETIC_SIZE,
  SYNTHETIC_VERSION,
  syntheticLabel,
  type BackgroundKind,
  type BoundingBox,
  type SyntheticBatch,
  type SyntheticSample,
  type SyntheticSplit,
} from './generator.js';
export { syntheticContactSheet } from './contact-sheet.js';

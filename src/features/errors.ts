/** A request the feature tools cannot satisfy (wrong layer kind, channel out of range, empty data). */
export class FeatureInputError extends Error {
  override name = 'FeatureInputError';
}

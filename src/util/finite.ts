/**
 * The last guard before a result is shown or written: a NaN or infinite value means something upstream
 * overflowed or divided by zero, and a command must fail rather than print "NaN%" or save a blank map
 * with exit code 0.
 */
export class NonFiniteResultError extends Error {
  override name = 'NonFiniteResultError';
}

/** Throws when `values` holds NaN or an infinity; `what` names the result ("Grad-CAM map of cat.png"). */
export function assertFiniteResult(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] - values[i] !== 0) {
      throw new NonFiniteResultError(
        `${what} holds ${Number.isNaN(values[i]) ? 'NaN' : 'an infinite value'} (at index ${i}): the model overflowed on this input. ` +
          'Check the weights (their scale) and the input; nothing was written.',
      );
    }
  }
}

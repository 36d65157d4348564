/**
 * Every way an input image can fail to become pixels (missing file, unsupported format, corrupt
 * data, over the safety limits) surfaces as this one error type, so callers such as the CLI can
 * catch it and print the message as-is: it names the file, says what went wrong and what to do.
 */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';

  constructor(
    /** The path or blob name the user gave. */
    readonly file: string,
    /** What went wrong, without the file name. */
    readonly reason: string,
    /** What the user can do about it. */
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read image "${file}": ${reason}. ${hint}`, options);
  }
}

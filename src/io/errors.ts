/**
 * Every failure of the safetensors reader and writer. The message always starts with the source
 * (file path, URL or '<memory>') and, where one tensor is at fault, its name, so a command-line tool
 * can print it unchanged and the user knows which file and which key to look at.
 */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';

  constructor(
    readonly source: string,
    detail: string,
    readonly tensor?: string,
    options?: ErrorOptions,
  ) {
    // A hostile file can name a tensor with megabytes of text: show the start of it.
    const shown = tensor !== undefined && tensor.length > 120 ? `${tensor.slice(0, 117)}...` : tensor;
    super(`${source}: ${shown === undefined ? '' : `tensor '${shown}': `}${detail}`, options);
  }
}

import { ImageDecodeError } from '../image/errors.js';

/** GETs a picture's URL for `readImage` (Node and browsers); a failed request says what to check. */
export async function downloadPicture(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new ImageDecodeError(url, `the download failed (${(cause as Error).message})`, 'Check the URL and the network', { cause });
  }
  if (!response.ok)
    throw new ImageDecodeError(url, `the download failed with HTTP ${response.status} ${response.statusText}`, 'Check the URL');
  return response;
}

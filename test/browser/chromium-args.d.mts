/** Chromium flags for the headless browser checks (chromium-args.mjs). */
export const CHROMIUM_ARGS: string[];
/** Debian's Chromium unless CHROMIUM_PATH says otherwise. */
export const CHROMIUM_PATH: string;

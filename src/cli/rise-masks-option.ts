/**
 * `--rise-masks N|auto` and `--rise-seconds S`, shared by explain, evaluate and the demo: a fixed mask count,
 * or a time budget per image that becomes a count once the model is loaded (measured on this model and
 * adapter, printed so a run can be repeated with the same count).
 */
import type { Model } from '../graph/model.js';
import { riseMasksForBudget } from '../methods/rise-budget.js';
import { checkBounds, parseInteger, type OptionSpec } from './options.js';

/** --rise-masks auto: the budget's bounds. */
export const RISE_AUTO_MIN = 100;
export const RISE_AUTO_MAX = 4000;

/** A fixed count, or a time budget per image that `resolveRiseMasks` turns into a count. */
export type RiseMaskSetting = { masks: number } | { seconds: number };

/** The two option records, with the command's default budget. */
export function riseMaskOptions(defaultSeconds: number, what = 'masks for RISE') {
  return {
    'rise-masks': {
      type: 'custom',
      arg: 'N|auto',
      default: 'auto',
      help: `${what}; auto: as many as fit --rise-seconds per image on this model and adapter (measured),\nbetween ${RISE_AUTO_MIN} and ${RISE_AUTO_MAX}, a multiple of 50`,
      parse: (text: string, flag: string): number | 'auto' =>
        text === 'auto' ? 'auto' : checkBounds({ min: 1, max: 100_000 }, flag, parseInteger(text, `${flag} (or auto)`)),
    },
    'rise-seconds': {
      type: 'number',
      arg: 'S',
      above: 0,
      max: 3600,
      default: defaultSeconds,
      help: 'RISE time budget per image for --rise-masks auto',
    },
  } as const satisfies Record<string, OptionSpec>;
}

export function riseMaskSetting(masks: number | 'auto', seconds: number): RiseMaskSetting {
  return masks === 'auto' ? { seconds } : { masks };
}

/** The mask count for a setting: fixed, or measured on this model and adapter (printed, so a run can be repeated). */
export async function resolveRiseMasks(model: Model, setting: RiseMaskSetting): Promise<number> {
  if ('masks' in setting) return setting.masks;
  const budget = await riseMasksForBudget(model, { seconds: setting.seconds, min: RISE_AUTO_MIN, max: RISE_AUTO_MAX });
  console.log(
    `RISE: ${budget.masks} masks per image (auto: ${setting.seconds} s at ${budget.masksPerSecond.toFixed(0)} masked images/s measured here; --rise-masks N fixes the count)`,
  );
  return budget.masks;
}

/** Every command of the CLI, in the order `layertracer --help` lists them. */
import type { CommandInfo } from './command.js';
import { CLASS_MEANS } from './class-means.js';
import { DEMO } from './demo.js';
import { EARLY_EXIT } from './early-exit.js';
import { EMBED } from './embed.js';
import { EVALUATE } from './evaluate.js';
import { EXPLAIN } from './explain.js';
import { FILTERS } from './filters.js';
import { NEIGHBOURS } from './neighbours.js';
import { PATCHES } from './patches.js';
import { PROFILE } from './profile.js';
import { SANITY } from './sanity.js';
import { TRACE } from './trace.js';

export const COMMANDS: readonly CommandInfo[] = [
  DEMO,
  EXPLAIN,
  EVALUATE,
  SANITY,
  CLASS_MEANS,
  EARLY_EXIT,
  FILTERS,
  PATCHES,
  NEIGHBOURS,
  EMBED,
  TRACE,
  PROFILE,
];

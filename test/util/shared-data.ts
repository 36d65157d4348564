import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** ../shared/data/cifar10 beside the project root: read in place, never copied into the repo. */
export const CIFAR_DIR = join(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'data', 'cifar10');

export function cifarFile(name: string): string {
  const path = join(CIFAR_DIR, name);
  // Missing shared data is a broken checkout, not a reason to skip: fail loudly.
  if (!existsSync(path)) throw new Error(`shared data file ${path} is missing; the project expects ../shared/data/cifar10 beside it`);
  return path;
}

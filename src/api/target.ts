/** A class to explain: `'top1'` (each image's most probable class), a class index, or a class name (case-insensitive). */
export type ClassChoice = 'top1' | number | string;

/**
 * Resolves a class choice against a model's class names: `'top1'` stays, a number or a string of digits
 * is an index (range-checked), any other string is matched to a name, case-insensitively. `what` names
 * the option in error messages (the CLI passes `--target`).
 */
export function resolveClassChoice(choice: ClassChoice | undefined, classes: readonly string[], what = 'target'): number | 'top1' {
  if (choice === undefined || choice === 'top1') return 'top1';
  const count = classes.length;
  const index = typeof choice === 'number' ? choice : /^\d+$/.test(choice) ? Number(choice) : undefined;
  if (index !== undefined) {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`${what} ${choice} is out of range: this model has classes 0..${count - 1}`);
    }
    return index;
  }
  const name = String(choice).toLowerCase();
  const found = classes.findIndex((c) => c.toLowerCase() === name);
  if (found >= 0) return found;
  const near = classes.filter((c) => c.toLowerCase().includes(name)).slice(0, 8);
  throw new RangeError(
    `${what} "${choice}" is not a class of this model. Use top1, an index 0..${count - 1}, or a class name` +
      (near.length ? ` such as ${near.join(', ')}` : count <= 20 ? `: ${classes.join(', ')}` : ''),
  );
}

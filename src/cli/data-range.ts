import { UsageError } from './errors.js';

/** "start:end" (end exclusive) within [0, total); undefined = everything. */
export function parseRange(text: string | undefined, total: number, flag = '--range'): { start: number; count: number } {
  if (!text) return { start: 0, count: total };
  const m = /^(\d*):(\d*)$/.exec(text);
  if (!m) throw new UsageError(`${flag} must look like START:END (e.g. 0:500), got "${text}"`);
  const start = m[1] ? Number(m[1]) : 0;
  const end = m[2] ? Number(m[2]) : total;
  if (start >= end || end > total) throw new UsageError(`${flag} ${text} is outside the ${total} images available`);
  return { start, count: end - start };
}

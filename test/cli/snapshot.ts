import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file and folder under `dir` with its length and SHA-256, or null when it does not exist: "unchanged" means equal snapshots. */
export function snapshot(dir: string): Record<string, string> | null {
  let s;
  try {
    s = statSync(dir);
  } catch {
    return null;
  }
  if (!s.isDirectory()) return { '.': describe(dir) };
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = join(rel, e.name);
      if (e.isDirectory()) {
        out[`${p}/`] = 'dir';
        walk(p);
      } else if (e.isFile()) out[p] = describe(join(dir, p));
      else out[p] = 'special'; // a FIFO or a socket: never read it
    }
  };
  walk('');
  return out;
}

function describe(path: string): string {
  const bytes = readFileSync(path);
  return `${bytes.length}:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * The page's server (web/serve.mjs) serves only regular files whose real path is inside its roots: no
 * symlink out of a served folder, no traversal, no FIFO that would block a read.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { startServer } from '../../web/serve.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lt-serve-'));
const site = join(dir, 'site');
const weights = join(dir, 'weights');
const outside = join(dir, 'outside');
for (const d of [site, weights, outside]) mkdirSync(d);
writeFileSync(join(site, 'index.html'), '<p>page</p>');
writeFileSync(join(weights, 'mine.safetensors'), 'weights');
writeFileSync(join(outside, 'secret.safetensors'), 'CONTENT-OUTSIDE');
writeFileSync(join(outside, 'secret.html'), 'CONTENT-OUTSIDE');
symlinkSync(join(outside, 'secret.safetensors'), join(weights, 'link.safetensors'));
symlinkSync(outside, join(weights, 'sub'));
symlinkSync(join(outside, 'secret.html'), join(site, 'secret.html'));
symlinkSync(join(weights, 'mine.safetensors'), join(weights, 'alias.safetensors'));
execFileSync('mkfifo', [join(weights, 'pipe.safetensors')]);

const server: Server = await startServer({ port: 0, weights: [weights], site });
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
const get = async (path: string) => {
  const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text() };
};

describe('web/serve.mjs', () => {
  it('serves files inside its roots, links that stay inside included', async () => {
    expect(await get('/')).toEqual({ status: 200, body: '<p>page</p>' });
    expect(await get('/weights/mine.safetensors')).toEqual({ status: 200, body: 'weights' });
    expect(await get('/weights/alias.safetensors')).toEqual({ status: 200, body: 'weights' });
  });

  it('refuses symlinks out of its roots, traversal and pipes', async () => {
    for (const path of [
      '/weights/link.safetensors',
      '/weights/sub/secret.safetensors',
      '/secret.html',
      '/weights/..%2f..%2foutside%2fsecret.safetensors',
      '/weights/%2e%2e/outside/secret.safetensors',
      '/..%2f..%2fetc%2fpasswd',
      '/weights/pipe.safetensors',
      '/weights/%00',
    ]) {
      const r = await get(path);
      expect({ path, status: r.status, leaked: r.body.includes('CONTENT-OUTSIDE') }).toEqual({ path, status: 404, leaked: false });
    }
  });

  it('lists only the models it would serve', async () => {
    const list = JSON.parse((await get('/weights/index.json')).body) as { models: { file: string }[] };
    const files = list.models.map((m) => m.file);
    expect(files).toContain('mine.safetensors');
    expect(files).not.toContain('link.safetensors');
    expect(files).not.toContain('pipe.safetensors');
  });
});

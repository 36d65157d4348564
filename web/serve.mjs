#!/usr/bin/env node
// A small static server for the LayerTracer page (node:http only).
//
//   node web/serve.mjs [--port 8080] [--weights DIR]...       (npm run serve builds the page first)
//
//   /                     dist/web (the page: index.html, app.js; build it with `node tools/build.mjs web`)
//   /weights/<file>       the first of weights/ and each --weights DIR that has <file>
//   /weights/index.json   {"models": [{"file", "bytes", "kind", "means"?}]}: every *.safetensors in those
//                         folders; kind is "weights" or "class-means" (from the file's own metadata), and
//                         weights X.safetensors name their class means X.means.safetensors when present.
//                         The page's model menu shows the weights; class means feed its LayerTracer strip.
//
// Listens on 127.0.0.1 only: a loopback origin is a secure context, which navigator.gpu requires,
// and nothing is exposed to the network. --port 0 picks a free port. The first line on stdout is
// `LayerTracer page: http://127.0.0.1:PORT/` (scripts read the port from it).
import { closeSync, createReadStream, existsSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.safetensors': 'application/octet-stream',
};

/** `rel` inside `dir`, or null when it would escape it (.., absolute paths, NUL). */
function inside(dir, rel) {
  if (rel.includes('\0')) return null;
  const p = resolve(dir, `.${sep}${rel}`);
  return p === dir || p.startsWith(dir + sep) ? p : null;
}

/**
 * The real path of `rel` under `dir` when it is a regular file whose real location (every symlink
 * followed) is still inside the real `dir`; null otherwise. A link from a served folder to /etc or to
 * the user's home serves nothing.
 */
function servedFile(dir, rel) {
  const p = inside(dir, rel);
  if (!p) return null;
  try {
    const root = realpathSync(dir);
    const real = realpathSync(p);
    if (real !== root && !real.startsWith(root + sep)) return null;
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

/**
 * What a safetensors file holds, from the metadata in its header: E2CM class means say
 * kind "e2cm-class-means"; anything else is taken for model weights. Reads only the header.
 */
function fileKind(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) !== 8) return 'unreadable';
    const n = Number(size.readBigUInt64LE(0));
    if (n > 100 * 1024 * 1024) return 'unreadable';
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    return JSON.parse(header.toString('utf8')).__metadata__?.kind === 'e2cm-class-means' ? 'class-means' : 'weights';
  } catch {
    return 'unreadable';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every *.safetensors in the weights folders; a name found in an earlier folder wins. */
function listModels(weightDirs) {
  const seen = new Map();
  for (const dir of weightDirs) {
    let names;
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.safetensors'))
        .sort();
    } catch {
      continue; // a folder that does not exist (yet) lists nothing
    }
    for (const file of names) {
      const p = servedFile(dir, file);
      if (!seen.has(file) && p) seen.set(file, { file, bytes: statSync(p).size, kind: fileKind(p) });
    }
  }
  for (const entry of seen.values()) {
    const means = entry.file.replace(/\.safetensors$/, '.means.safetensors');
    if (entry.kind === 'weights' && seen.get(means)?.kind === 'class-means') entry.means = means;
  }
  return [...seen.values()];
}

/**
 * Starts the server. `weights`: extra folders served under /weights/ after the repository's own.
 * Resolves to the http.Server once listening.
 */
export function startServer({ port = 8080, weights = [], site = join(ROOT, 'dist/web') } = {}) {
  const siteDir = resolve(site);
  const weightDirs = [join(ROOT, 'weights'), ...weights.map((d) => resolve(d))];
  const server = http.createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return void res.writeHead(400).end('bad URL');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    let file;
    if (path === '/weights/index.json') {
      const body = JSON.stringify({ models: listModels(weightDirs) });
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    } else if (path.startsWith('/weights/')) {
      const rel = path.slice('/weights/'.length);
      file = weightDirs.map((d) => servedFile(d, rel)).find((p) => p) ?? null;
    } else {
      file = servedFile(siteDir, path === '/' ? 'index.html' : path.slice(1));
    }
    if (!file) {
      const hint =
        path === '/' && !existsSync(join(siteDir, 'index.html')) ? ' (the page is not built: run `node tools/build.mjs web`)' : '';
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`not found: ${path}${hint}\n`);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      weights: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node web/serve.mjs [--port 8080] [--weights DIR]...   (serves dist/web and /weights on 127.0.0.1)');
    process.exit(0);
  }
  try {
    const server = await startServer({ port: Number(values.port), weights: values.weights });
    console.log(`LayerTracer page: http://127.0.0.1:${server.address().port}/`);
    if (!existsSync(join(ROOT, 'dist/web/index.html'))) console.log('note: dist/web is not built yet: run `node tools/build.mjs web`');
    const models = listModels([join(ROOT, 'weights'), ...values.weights.map((d) => resolve(d))]);
    const weights = models.filter((m) => m.kind === 'weights');
    console.log(`models: ${weights.length ? weights.map((m) => m.file).join(', ') : 'none (load a .safetensors file in the page)'}`);
  } catch (err) {
    console.error(
      `serve: ${err.code === 'EADDRINUSE' ? `port ${values.port} is in use; pass --port N (0 picks a free one)` : err.message}`,
    );
    process.exit(1);
  }
}

// A tiny static server for the browser demo (no dependencies): serves the repository root, so the
// page imports the built library from /dist/src/ and the kernels load from /dist/wasm/ exactly as
// they would from any static host.
//   node examples/browser/server.mjs [--port 8080] [--host 127.0.0.1]     (npm run demo builds first)
// Every response is cross-origin isolated (COOP same-origin + COEP require-corp): that is what
// gives a page SharedArrayBuffer, which WASM threads on shared memory will need.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_PATH = '/examples/browser/';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  // WebAssembly.compileStreaming refuses anything else; fetch + compile does not mind.
  '.wasm': 'application/wasm',
};

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/** The file a URL path names under `root`, or null when it would leave it. */
function resolvePath(root, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const full = normalize(join(root, path));
  return full === root.replace(/[\\/]$/, '') || full.startsWith(root.endsWith(sep) ? root : root + sep) ? full : null;
}

function send(res, status, text, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...ISOLATION, ...headers });
  res.end(text);
}

/** The request handler: GET and HEAD of files under `root`; '/' goes to the demo page. */
export function demoHandler(root = REPO_ROOT) {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (urlPath === '/') return send(res, 302, `see ${DEMO_PATH}\n`, { location: DEMO_PATH });
    let file = resolvePath(root, urlPath);
    if (file === null) return send(res, 403, 'forbidden\n');
    let info;
    try {
      info = await stat(file);
      if (info.isDirectory()) {
        if (!urlPath.endsWith('/')) return send(res, 301, 'moved\n', { location: `${urlPath}/` });
        file = join(file, 'index.html');
        info = await stat(file);
      }
    } catch {
      const hint = urlPath.startsWith('/dist/') ? ' (run "npm run build" first, or use "npm run demo")' : '';
      return send(res, 404, `not found: ${urlPath}${hint}\n`);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': info.size,
      // A demo under development: always the file as it is now (a rebuilt .wasm, an edited page).
      'cache-control': 'no-store',
      ...ISOLATION,
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };
}

/**
 * Starts the server; resolves to { server, url (the demo page), close() }. Port 0 takes a free
 * port (the tests do).
 */
export function startDemoServer({ port = 8080, host = '127.0.0.1', root = REPO_ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(demoHandler(root));
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        origin: `http://${shown}:${bound}`,
        url: `http://${shown}:${bound}${DEMO_PATH}`,
        close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
      });
    });
  });
}

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const port = Number(flag('port', process.env.PORT ?? 8080));
  const host = flag('host', '127.0.0.1');
  startDemoServer({ port, host }).then(({ url }) => {
    console.log(`repvgg-wasm demo: ${url}`);
    console.log('(serving the repository root, cross-origin isolated; Ctrl+C stops)');
  }, (e) => {
    console.error(e.code === 'EADDRINUSE' ? `port ${port} is taken: node examples/browser/server.mjs --port <another>` : e.message);
    process.exit(1);
  });
}

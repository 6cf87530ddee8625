// The dashboard's static files under /ui: the bundle `npm run build:ui` writes to dist/ui
// (index.html, app.js, app.css). No CDN and no external fonts: the page loads only from here,
// and its Content-Security-Policy says so. The page holds no data; everything it shows comes
// from /api with the signed-in person's token.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';

/** Where `npm run build:ui` puts the bundle (repo root /dist/ui). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export const UI_SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function registerUi(app: FastifyInstance, dir: string = DEFAULT_UI_DIR): void {
  const root = normalize(dir.endsWith(sep) ? dir : `${dir}${sep}`);
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui/*', async (request, reply) => {
    const wanted = (request.params as { '*': string })['*'] || 'index.html';
    const path = normalize(join(root, wanted));
    if (!path.startsWith(root) || !(extname(path) in TYPES)) {
      throw new ApiError('not-found', `No dashboard file ${JSON.stringify(wanted)}`);
    }
    if (!existsSync(join(root, 'index.html'))) {
      throw new ApiError('not-found', `The dashboard is not built (no ${root}index.html): run npm run build:ui`);
    }
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      // Missing or unreadable: the same answer as any unknown path, without the server's paths.
      throw new ApiError('not-found', `No dashboard file ${JSON.stringify(wanted)}`);
    }
    reply.headers({ ...UI_SECURITY_HEADERS, 'content-type': TYPES[extname(path)], 'cache-control': 'no-cache' });
    return reply.send(body);
  });
}

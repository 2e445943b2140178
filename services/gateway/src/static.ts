import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@conversa/observability';

/**
 * Serves the built web client (`@conversa/web`'s dist/) and GraphiQL from the gateway's port:
 * static files resolved safely under the dist folder, index.html for the client's own paths
 * (SPA fallback), graphiql.html for a browser's GET /graphql, and security headers on all of it.
 * The gateway does not import the web package: it only reads files, so it builds without it.
 */

const NOT_BUILT = 'web client not built: run npm run build\n';

/** Seconds a content-hashed asset (dist/assets/*) may be cached: one year. */
export const IMMUTABLE_MAX_AGE_S = 31_536_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type for a file name; unknown kinds are served as opaque bytes. */
export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The client's own pages, answered with index.html: `/`, `/signin`, `/search`, `/room/<id>`, `/dm/<id>`. */
export function isAppRoute(path: string): boolean {
  return path === '/' || path === '/signin' || path === '/search' || /^\/(room|dm)\/[^/]+\/?$/.test(path);
}

/**
 * True when an Accept header ranks text/html above JSON (a browser's navigation), so GET
 * /graphql shows GraphiQL; API clients (`application/json`, `*\/*`) get the API.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const t = type.trim();
    if (t === 'text/html') html = Math.max(html, q);
    else if (
      t === 'application/json' ||
      t === 'application/graphql-response+json' ||
      t === 'multipart/mixed'
    )
      json = Math.max(json, q);
  }
  return html > 0 && html > json;
}

/**
 * The file a URL path names inside `root`, or null when it is malformed or would leave
 * `root` (`..`, encoded slashes, NUL, dotfiles). Does not touch the disk.
 */
export function resolveUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || !decoded.startsWith('/')) return null;
  // Any dot segment is refused before normalizing: `..` never gets clamped into something else.
  if (decoded.split('/').some((seg) => seg.startsWith('.'))) return null; // .., .env, .git
  const normal = posix.normalize(decoded);
  const base = resolve(root);
  const full = resolve(base, `.${normal}`);
  return full.startsWith(base + sep) ? full : null;
}

/** The Content-Security-Policy of the chat page: no inline script or style, no eval, no frames. */
export function appCsp(wsOrigins: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${wsOrigins}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * GraphiQL's: React and Monaco inject <style> elements and its stylesheet embeds fonts as
 * data: URLs, so styles need 'unsafe-inline' and fonts data:; Monaco's language workers are
 * files of the same origin. Scripts stay 'self' only: no 'unsafe-eval'.
 */
export function graphiqlCsp(wsOrigins: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${wsOrigins}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** ws:/wss: origins of this host for connect-src (older Safari does not count them as 'self'). */
function wsOriginsOf(req: IncomingMessage): string {
  const host = req.headers.host;
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)
    ? ` ws://${host} wss://${host}`
    : '';
}

function securityHeaders(csp: string): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}

/**
 * Where the web client's build is: WEB_DIST_DIR when set, else `dist/` beside the installed
 * `@conversa/web` package; null when that package is not installed (e.g. a pruned image).
 */
export function resolveWebDist(configured: string | undefined): string | null {
  if (configured) return resolve(configured);
  try {
    return join(dirname(fileURLToPath(import.meta.resolve('@conversa/web/package.json'))), 'dist');
  } catch {
    return null;
  }
}

export interface StaticOptions {
  /** The web client's dist folder; null or missing on disk: its pages answer 503. */
  distDir: string | null;
  logger?: Logger;
}

/**
 * Returns a request handler that answers (and returns true for) what the web client owns:
 * GET/HEAD of its files and pages, and GET /graphql from a browser. Everything else returns
 * false and is left to the caller (the API, probes, the 404).
 */
export function createStaticHandler(
  opts: StaticOptions,
): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const root = opts.distDir ? resolve(opts.distDir) : null;

  const fail = (res: ServerResponse, status: number, text: string, csp: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, {
      ...securityHeaders(csp),
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(text);
  };

  /** Streams a file under the root; false (nothing sent) when there is no such file. */
  const sendFile = async (
    req: IncomingMessage,
    res: ServerResponse,
    base: string,
    file: string,
    o: { status: number; csp: string; cache: string },
  ): Promise<boolean> => {
    let info;
    try {
      // realpath: a symlink inside dist/ must not lead out of it either.
      const [realRoot, realFile] = await Promise.all([realpath(base), realpath(file)]);
      if (!realFile.startsWith(realRoot + sep)) throw new Error('outside the web root');
      info = await stat(realFile);
      if (!info.isFile()) throw new Error('not a file');
      file = realFile;
    } catch {
      return false;
    }
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      ...securityHeaders(o.csp),
      'content-type': contentType(file),
      'cache-control': o.cache,
      etag,
      'last-modified': info.mtime.toUTCString(),
    };
    if (o.status === 200 && req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    headers['content-length'] = String(info.size);
    res.writeHead(o.status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file);
      stream.on('error', (e) => {
        opts.logger?.warn({ err: e, file }, 'static file read failed');
        res.destroy();
        done();
      });
      res.on('close', () => {
        stream.destroy();
        done();
      });
      stream.pipe(res);
    });
    return true;
  };

  /** index.html (or graphiql.html); 503 with a clear text when the client was never built. */
  const sendPage = (
    req: IncomingMessage,
    res: ServerResponse,
    page: 'index.html' | 'graphiql.html',
    status: number,
    csp: string,
  ) => {
    if (!root) return fail(res, 503, NOT_BUILT, csp);
    sendFile(req, res, root, join(root, page), { status, csp, cache: 'no-cache' })
      .then((sent) => {
        if (!sent) fail(res, 503, NOT_BUILT, csp);
      })
      .catch((e: unknown) => {
        opts.logger?.error({ err: e }, 'static handler failed');
        fail(res, 500, 'internal error\n', csp);
      });
  };

  return (req, res, path) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const ws = wsOriginsOf(req);
    if (path === '/graphql') {
      if (!prefersHtml(req.headers.accept)) return false;
      sendPage(req, res, 'graphiql.html', 200, graphiqlCsp(ws));
      return true;
    }
    if (isAppRoute(path)) {
      sendPage(req, res, 'index.html', 200, appCsp(ws));
      return true;
    }
    const isFile = extname(path) !== '' || path.startsWith('/assets/') || path.includes('/.');
    if (!isFile) {
      // An unknown page asked for by a browser: the client renders its own "not found".
      if (!prefersHtml(req.headers.accept)) return false;
      sendPage(req, res, 'index.html', 404, appCsp(ws));
      return true;
    }
    const csp = path === '/graphiql.html' ? graphiqlCsp(ws) : appCsp(ws);
    if (!root) {
      fail(res, 503, NOT_BUILT, csp);
      return true;
    }
    const file = resolveUnder(root, path);
    if (!file) {
      fail(res, 404, 'not found\n', csp);
      return true;
    }
    const cache = path.startsWith('/assets/')
      ? `public, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`
      : 'no-cache';
    sendFile(req, res, root, file, { status: 200, csp, cache })
      .then((sent) => {
        if (!sent) fail(res, 404, 'not found\n', csp);
      })
      .catch((e: unknown) => {
        opts.logger?.error({ err: e }, 'static handler failed');
        fail(res, 500, 'internal error\n', csp);
      });
    return true;
  };
}

import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticHandler, isAppRoute, prefersHtml, resolveUnder } from './static.js';

const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('prefersHtml', () => {
  it('is true for a browser navigation and false for API clients', () => {
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/graphql-response+json, application/json;q=0.9')).toBe(false);
    expect(prefersHtml('application/json, multipart/mixed')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html;q=0')).toBe(false);
  });
});

describe('resolveUnder', () => {
  it('stays inside the root', () => {
    expect(resolveUnder('/srv/web', '/assets/a.js')).toBe('/srv/web/assets/a.js');
    expect(resolveUnder('/srv/web', '/../etc/passwd')).toBeNull();
    expect(resolveUnder('/srv/web', '/assets/../../etc/passwd')).toBeNull();
    expect(resolveUnder('/srv/web', '/%2e%2e/%2e%2e/etc/passwd')).toBeNull();
    expect(resolveUnder('/srv/web', '/assets%2F..%2F..%2Fsecret')).toBeNull();
    expect(resolveUnder('/srv/web', '/..%5c..%5csecret')).toBeNull();
    expect(resolveUnder('/srv/web', '/a%00.js')).toBeNull();
    expect(resolveUnder('/srv/web', '/.env')).toBeNull();
    expect(resolveUnder('/srv/web', '/%E0%A4%A')).toBeNull();
    expect(resolveUnder('/srv/web', '/')).toBeNull();
  });
});

describe('isAppRoute', () => {
  it('knows the client pages', () => {
    for (const p of ['/', '/signin', '/search', '/room/general', '/dm/abc', '/dm/abc/'])
      expect(isAppRoute(p), p).toBe(true);
    for (const p of ['/graphql', '/room', '/room/a/b', '/search/x', '/assets/x.js', '/elsewhere'])
      expect(isAppRoute(p), p).toBe(false);
  });
});

describe('the static handler over HTTP', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let missing: Server;
  let missingBase: string;

  const listen = (s: Server) =>
    new Promise<string>((resolve) =>
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
      }),
    );
  const serve = (distDir: string | null) => {
    const handle = createStaticHandler({ distDir });
    return createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (!handle(req, res, path))
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"api"}');
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'web-'));
    mkdirSync(join(dir, 'dist/assets'), { recursive: true });
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dir, 'dist/graphiql.html'), '<!doctype html><title>graphiql</title>');
    writeFileSync(join(dir, 'dist/assets/app-1234.js'), 'console.log(1)');
    writeFileSync(join(dir, 'dist/assets/app-1234.css'), 'body{}');
    writeFileSync(join(dir, 'dist/favicon.svg'), '<svg/>');
    writeFileSync(join(dir, 'secret.txt'), 'top secret');
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'dist/assets/link.txt'));
    server = serve(join(dir, 'dist'));
    base = await listen(server);
    missing = serve(join(dir, 'nowhere'));
    missingBase = await listen(missing);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => missing.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html for the client pages, with the security headers', async () => {
    for (const p of ['/', '/signin', '/room/general', '/dm/abc']) {
      const res = await fetch(base + p, { headers: { accept: BROWSER_ACCEPT } });
      expect(res.status, p).toBe(200);
      expect(await res.text()).toContain('<title>app</title>');
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    }
  });

  it('serves GraphiQL for a browser GET /graphql and leaves API requests alone', async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>graphiql</title>');
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-eval');
    const api = await fetch(`${base}/graphql?query=%7B__typename%7D`, {
      headers: { accept: 'application/json' },
    });
    expect(await api.text()).toBe('{"error":"api"}');
    const post = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT },
      body: '{}',
    });
    expect(await post.text()).toBe('{"error":"api"}');
  });

  it('serves hashed assets with a year of caching and the right types', async () => {
    const js = await fetch(`${base}/assets/app-1234.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1)');
    expect((await fetch(`${base}/assets/app-1234.css`)).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    const icon = await fetch(`${base}/favicon.svg`);
    expect([icon.headers.get('content-type'), icon.headers.get('cache-control')]).toEqual([
      'image/svg+xml',
      'no-cache',
    ]);
    const etag = js.headers.get('etag')!;
    expect(
      (await fetch(`${base}/assets/app-1234.js`, { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    const head = await fetch(`${base}/assets/app-1234.js`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([
      200,
      '14',
      '',
    ]);
  });

  it('refuses traversal, symlinks out of the folder and unknown files', async () => {
    for (const p of [
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/link.txt',
      '/assets/nope.js',
      '/.env',
    ]) {
      const res = await fetch(base + p);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain('top secret');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('renders unknown pages in the client with 404 for browsers, and leaves them to the API 404 otherwise', async () => {
    const page = await fetch(`${base}/no/such/page`, { headers: { accept: BROWSER_ACCEPT } });
    expect([page.status, await page.text()]).toEqual([404, '<!doctype html><title>app</title>']);
    expect(await (await fetch(`${base}/no/such/page`)).text()).toBe('{"error":"api"}');
  });

  it('answers 503 with a clear text when the client is not built', async () => {
    for (const p of ['/', '/dm/x']) {
      const res = await fetch(missingBase + p, { headers: { accept: BROWSER_ACCEPT } });
      expect(res.status).toBe(503);
      expect(await res.text()).toBe('web client not built: run npm run build\n');
    }
    const graphiql = await fetch(`${missingBase}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(graphiql.status).toBe(503);
    const unresolved = serve(null);
    const u = await listen(unresolved);
    expect((await fetch(`${u}/`)).status).toBe(503);
    await new Promise((r) => unresolved.close(r));
  });
});

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpRoutes, type HttpRoutesDeps } from './http-routes.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(overrides: Partial<HttpRoutesDeps> = {}) {
  const calls: { authorization: string | undefined; address: string }[] = [];
  const deps: HttpRoutesDeps = {
    metrics: undefined,
    probes: { db: () => Promise.resolve() },
    draining: () => false,
    serveWeb: (_req, res, path) => (path === '/' ? (res.writeHead(200).end('page'), true) : false),
    corsOrigins: ['http://app.example'],
    trustProxy: false,
    graphql: (_req, res, authorization, address) => {
      calls.push({ authorization, address });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
      return Promise.resolve();
    },
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
  const server = createServer(createHttpRoutes(deps));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

describe('createHttpRoutes', () => {
  it('answers probes, pages and a 404 that points to /graphql, all with security headers', async () => {
    const { url } = await serve();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/`)).text()).toBe('page');
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('try /graphql');
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('hands /graphql to the GraphQL handler with the caller’s token and address, uncached', async () => {
    const { url, calls } = await serve();
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{"query":"{ me { id } }"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(calls).toEqual([{ authorization: 'Bearer t', address: '127.0.0.1' }]);
  });

  it('refuses a foreign origin with 403 before any GraphQL, answers an allowed preflight with CORS', async () => {
    const { url, calls } = await serve();
    const foreign = await fetch(`${url}/graphql`, { method: 'POST', headers: { origin: 'http://evil.example' }, body: '{}' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('FORBIDDEN');
    const preflight = await fetch(`${url}/graphql`, { method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(calls).toEqual([]);
  });

  it('answers 500 INTERNAL_SERVER_ERROR when the handler fails, and 503 on /readyz while draining', async () => {
    const { url } = await serve({ graphql: () => Promise.reject(new Error('boom')), draining: () => true });
    const res = await fetch(`${url}/graphql`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('INTERNAL_SERVER_ERROR');
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });
});

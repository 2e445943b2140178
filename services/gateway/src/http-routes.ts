import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleMetrics, handleProbe, SpanKind, withSpan, type Logger, type Metrics, type ReadinessCheck } from '@conversa/observability';
import { applySecurityHeaders, checkOrigin, clientAddress, corsHeaders } from './http-security.js';

/**
 * The gateway's HTTP routes on its public port: /metrics (unless it has a port of its own),
 * /healthz and /readyz, the web client and GraphiQL, and /graphql (origin check, CORS,
 * then the GraphQL handler). Everything else is a 404 that says where to go.
 */
export interface HttpRoutesDeps {
  /** Served at /metrics here; undefined when METRICS_PORT serves it elsewhere. */
  metrics: Metrics | undefined;
  /** Readiness checks for /readyz. */
  probes: Record<string, ReadinessCheck>;
  /** True once shutdown began (/readyz answers 503). */
  draining: () => boolean;
  /** Static pages; true when it answered. */
  serveWeb: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
  corsOrigins: readonly string[];
  trustProxy: boolean;
  /** Runs one GraphQL request (Apollo); `authorization` is the header as sent. */
  graphql: (req: IncomingMessage, res: ServerResponse, authorization: string | undefined, address: string) => Promise<void>;
  logger: Logger;
}

const FORBIDDEN_ORIGIN = '{"errors":[{"message":"this origin may not call the API","extensions":{"code":"FORBIDDEN"}}]}';
const INTERNAL = '{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}';

export function createHttpRoutes(d: HttpRoutesDeps): RequestListener {
  return (req, res) => {
    // On everything written below (API, pages, probes, 404s); the page handler refines the CSP.
    applySecurityHeaders(res);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (d.metrics && handleMetrics(req, res, d.metrics)) return;
    if (handleProbe(req, res, d.probes, d.draining)) return;
    if (d.serveWeb(req, res, path)) return;
    if (path !== '/graphql') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: try /graphql"}');
      return;
    }
    // A browser page of a foreign origin gets 403 before any GraphQL runs; allowed ones get
    // CORS headers (same-origin and non-browser callers need none).
    const origin = checkOrigin(req.headers, d.corsOrigins);
    if (origin === 'forbidden') {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' }).end(FORBIDDEN_ORIGIN);
      return;
    }
    if (origin === 'allowed') {
      for (const [k, v] of Object.entries(corsHeaders(String(req.headers.origin), req.method === 'OPTIONS'))) res.setHeader(k, v);
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    res.setHeader('cache-control', 'no-store');
    const auth = req.headers.authorization;
    const address = clientAddress(req.headers, req.socket.remoteAddress, d.trustProxy);
    // The span every write's trace starts from (its job, Redis publish, Kafka event, audit entry).
    withSpan('POST /graphql', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'POST', 'http.route': '/graphql' } }, () =>
      d.graphql(req, res, auth, address),
    ).catch((e: unknown) => {
      d.logger.error({ err: e }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(INTERNAL);
    });
  };
}

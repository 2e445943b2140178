import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleMetrics, type Metrics } from './metrics.js';

/** A dependency check for /readyz: resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<void>;

export interface ProbeResult {
  ready: boolean;
  /** 'ok', or why the check failed. */
  checks: Record<string, string>;
}

/** Runs every check with a timeout (2 s default); a check that throws or hangs makes the service unready. */
export async function runChecks(
  checks: Record<string, ReadinessCheck>,
  timeoutMs = 2_000,
): Promise<ProbeResult> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch (e) {
        return [name, e instanceof Error ? e.message : String(e)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
}

/**
 * Answers GET /healthz (the process is alive) and GET /readyz (its dependencies answer).
 * Returns true when it handled the request, so a larger server can fall through.
 */
export function handleProbe(
  req: IncomingMessage,
  res: ServerResponse,
  checks: Record<string, ReadinessCheck>,
  isDraining: () => boolean = () => false,
): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return true;
  }
  if (path === '/readyz') {
    void runChecks(checks).then((r) => {
      const ready = r.ready && !isDraining();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : isDraining() ? 'draining' : 'unready', checks: r.checks }));
    });
    return true;
  }
  return false;
}

/** A tiny HTTP server for services that have no other: /healthz, /readyz, /metrics when given, 404 otherwise. */
export function createProbeServer(
  checks: Record<string, ReadinessCheck>,
  isDraining?: () => boolean,
  metrics?: Metrics,
): Server {
  return createServer((req, res) => {
    if (metrics && handleMetrics(req, res, metrics)) return;
    if (!handleProbe(req, res, checks, isDraining)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
}

/** Listens and resolves with the bound port (useful with port 0 in tests). */
/**
 * Listens; `backlog`: connections the kernel queues before they are accepted (Node's default
 * is 511; the kernel caps it at net.core.somaxconn). A reconnect storm of thousands of
 * sockets overflows a short queue, and every dropped SYN costs its client a retry after 1 s,
 * 3 s, 7 s…
 */
export function listen(server: Server, port: number, host: string, backlog = 511): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

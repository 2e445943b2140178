import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GatewayContext } from './context.js';
import { refusalOverHttp } from './http-subscriptions.js';

/** Largest request body accepted, bytes (1 MiB). */
export const MAX_BODY_BYTES = 1_048_576;

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new BodyError(413, `request body larger than ${limit} bytes`);
    // Refused unread when it announces its size; the connection is closed after the answer.
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** How much of a refused body is still read and dropped, so that its sender gets the answer. */
const LINGER_BYTES = 32 * 1_048_576;
/** …and for how long at most, ms (10 s). */
const LINGER_MS = 10_000;

/**
 * After refusing a body: read and drop the rest, as nginx's lingering close does, so that a
 * client still sending gets the 413 instead of a reset; but never more than LINGER_BYTES or
 * LINGER_MS, after which the connection is cut.
 */
function discardRest(req: IncomingMessage): void {
  let dropped = 0;
  const timer = setTimeout(() => req.destroy(), LINGER_MS);
  const stop = () => clearTimeout(timer);
  req.removeAllListeners('data');
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > LINGER_BYTES) {
      stop();
      req.destroy();
    }
  });
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}

function sendJsonError(res: ServerResponse, status: number, message: string, code = 'BAD_USER_INPUT', reason?: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify({ errors: [{ message, extensions: { code, ...(reason ? { reason } : {}) } }] }));
  if (status === 413) discardRest(res.req);
}

/**
 * A small Node http integration for Apollo Server 5 (its documented
 * `executeHTTPGraphQLRequest` surface), so that HTTP and the WebSocket server share one server and port
 * without a web framework.
 */
export async function handleGraphQLHttp(
  apollo: ApolloServer<GatewayContext>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<GatewayContext>,
  opts: { maxTokens: number } = { maxTokens: 2_000 },
): Promise<void> {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  let body: unknown = undefined;
  if (req.method === 'POST') {
    let raw: string;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch (e) {
      sendJsonError(res, e instanceof BodyError ? e.status : 400, e instanceof Error ? e.message : 'unreadable body');
      return;
    }
    const type = headers.get('content-type') ?? '';
    if (type.includes('application/json') || type.includes('application/graphql-response+json')) {
      try {
        body = raw.length > 0 ? JSON.parse(raw) : undefined;
      } catch {
        sendJsonError(res, 400, 'the request body is not valid JSON');
        return;
      }
    } else {
      body = raw;
    }
  }
  const url = new URL(req.url ?? '/', 'http://gateway');
  // Subscriptions are served over WebSocket only (see http-subscriptions.ts for why here).
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const query = req.method === 'GET' ? url.searchParams.get('query') : fields?.query;
  const operationName = req.method === 'GET' ? url.searchParams.get('operationName') : fields?.operationName;
  const refusal = refusalOverHttp(query, operationName, opts.maxTokens);
  if (refusal) {
    sendJsonError(res, 400, refusal.message, 'BAD_USER_INPUT', refusal.reason === 'BAD_REQUEST' ? undefined : refusal.reason);
    return;
  }
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context,
  });
  const outHeaders: Record<string, string> = {};
  for (const [k, v] of result.headers) outHeaders[k] = v;
  res.writeHead(result.status ?? 200, outHeaders);
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

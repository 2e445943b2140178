/**
 * What the fuzz run accepts as an answer, and its tally. An HTTP answer is a GraphQL response
 * (data and/or errors, each error with a message and a public `extensions.code`) under a status
 * the gateway documents; a WebSocket frame from the gateway is a graphql-transport-ws message of
 * the same kind; a close code is one the gateway documents. INTERNAL_SERVER_ERROR is a public
 * code but "left for bugs" (schema.graphql): the fuzz reports every one.
 */
import { ErrorCode } from '@conversa/contracts';

/** Codes a caller may see, except INTERNAL_SERVER_ERROR (a bug whenever it shows). */
export const ACCEPTED_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR));

/**
 * HTTP statuses of /graphql documented in docs/security.md and services/gateway/src/http*.ts:
 * 200 (a result, errors included), 400 (a malformed request: parse, validation, variables,
 * CSRF, batch, invalid JSON), 413 (a body over MAX_BODY_BYTES). GET also has 405 (Apollo
 * Server's answer to a mutation over GET: "mutations only over POST"). 403 answers a foreign
 * Origin, which the fuzz does not send; no 5xx (no 503 either: overload is the UNAVAILABLE code).
 */
export const DOCUMENTED_STATUS: Readonly<Record<'POST' | 'GET', ReadonlySet<number>>> = {
  POST: new Set([200, 400, 413]),
  GET: new Set([200, 400, 405]),
};

/**
 * Close codes of the gateway's sockets (services/gateway/src/ws-protocol.ts `CloseCode`,
 * docs/security.md §3) that a client can cause, and ws' own RFC 6455 codes for frames it
 * refuses before the gateway sees them: 1009 (over WS_MAX_PAYLOAD_BYTES, documented) and 1007
 * (a text frame that is not UTF-8). 1000 is the fuzz's own close echoed. 4500 (internal error)
 * and 1006 (cut without a close frame) are bugs; 1001 only comes with a shutdown.
 */
export const DOCUMENTED_CLOSE: ReadonlyMap<number, string> = new Map([
  [1000, 'normal (our close)'],
  [1007, 'not UTF-8'],
  [1009, 'frame too large'],
  [4400, 'bad request'],
  [4401, 'unauthorized'],
  [4403, 'forbidden'],
  [4406, 'subprotocol not acceptable'],
  [4408, 'init timeout'],
  [4409, 'subscriber already exists'],
  [4413, 'slow consumer'],
  [4429, 'too many init requests / connections'],
]);

export interface Verdict {
  ok: boolean;
  /** The answer's kind for the tally, e.g. `200 data`, `400 BAD_USER_INPUT`. */
  kind: string;
  why?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A GraphQL response body: an object with `data` (object or null) and/or a non-empty `errors`
 * array; each error an object with a non-empty string message and an accepted extensions.code.
 * Returns the error codes (empty for a result without errors), or why it is not one.
 */
export function checkResponse(body: unknown): { codes: string[]; hasData: boolean } | { why: string } {
  if (!isObject(body)) return { why: `not a JSON object: ${JSON.stringify(body)?.slice(0, 120)}` };
  const hasData = 'data' in body && body.data !== undefined;
  if (hasData && body.data !== null && !isObject(body.data)) return { why: 'data is neither an object nor null' };
  if (body.errors === undefined) {
    if (!hasData || body.data === null) return { why: 'neither data nor errors' };
    return { codes: [], hasData: true };
  }
  if (!Array.isArray(body.errors) || body.errors.length === 0) return { why: 'errors is not a non-empty array' };
  const codes: string[] = [];
  for (const e of body.errors) {
    if (!isObject(e) || typeof e.message !== 'string' || e.message.length === 0) return { why: `an error without a message: ${JSON.stringify(e)?.slice(0, 200)}` };
    const code = isObject(e.extensions) ? e.extensions.code : undefined;
    if (typeof code !== 'string') return { why: `an error without extensions.code: ${JSON.stringify(e).slice(0, 200)}` };
    if (!ACCEPTED_CODES.has(code)) return { why: `error code ${code}: ${e.message.slice(0, 200)}` };
    if (/\bat .+\.(js|ts):\d+/.test(e.message) || 'stacktrace' in (e.extensions as object)) return { why: `a stack trace leaks: ${e.message.slice(0, 200)}` };
    codes.push(code);
  }
  return { codes, hasData: hasData && body.data !== null };
}

const summary = (r: { codes: string[]; hasData: boolean }) =>
  r.codes.length === 0 ? 'data' : `${r.hasData ? 'data+' : ''}${[...new Set(r.codes)].sort().join('+')}`;

/** An HTTP answer: its status and body text. */
export function judgeHttp(method: 'POST' | 'GET', status: number, text: string): Verdict {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, kind: `${status} not JSON`, why: `HTTP ${status}, body not JSON: ${text.slice(0, 200)}` };
  }
  const r = checkResponse(body);
  if ('why' in r) return { ok: false, kind: `${status} invalid`, why: `HTTP ${status}: ${r.why}` };
  const kind = `${status} ${summary(r)}`;
  if (!DOCUMENTED_STATUS[method].has(status)) return { ok: false, kind, why: `HTTP ${status} is not a documented status of ${method} /graphql: ${text.slice(0, 200)}` };
  if (status !== 200 && r.hasData) return { ok: false, kind, why: `HTTP ${status} with data` };
  return { ok: true, kind };
}

/** One frame the gateway sent on a socket. */
export function judgeFrame(text: string): Verdict & { type?: string | undefined; id?: string | undefined } {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return { ok: false, kind: 'frame not JSON', why: `a frame that is not JSON: ${text.slice(0, 200)}` };
  }
  if (!isObject(m) || typeof m.type !== 'string') return { ok: false, kind: 'frame without type', why: `a frame without a type: ${text.slice(0, 200)}` };
  const id = typeof m.id === 'string' ? m.id : undefined;
  switch (m.type) {
    case 'connection_ack':
    case 'ping':
    case 'pong':
      return { ok: true, kind: m.type, type: m.type };
    case 'complete':
      return id !== undefined ? { ok: true, kind: 'complete', type: m.type, id } : { ok: false, kind: 'complete without id', why: text.slice(0, 200) };
    case 'next': {
      const r = checkResponse(m.payload);
      if ('why' in r) return { ok: false, kind: 'next invalid', why: `next: ${r.why}`, type: m.type, id };
      return { ok: true, kind: `next ${summary(r)}`, type: m.type, id };
    }
    case 'error': {
      const r = checkResponse({ errors: m.payload });
      if ('why' in r) return { ok: false, kind: 'error invalid', why: `error frame: ${r.why}`, type: m.type, id };
      return { ok: true, kind: `error ${summary(r)}`, type: m.type, id };
    }
    default:
      return { ok: false, kind: `frame ${m.type}`, why: `an unknown frame type: ${text.slice(0, 200)}` };
  }
}

export function judgeClose(code: number, reason: string): Verdict {
  const known = DOCUMENTED_CLOSE.get(code);
  return known ? { ok: true, kind: `close ${code}` } : { ok: false, kind: `close ${code}`, why: `close ${code} (${reason || 'no reason'}) is not a documented close code` };
}

/** Counts of answers by channel and kind, and the violations found. */
export class Tally {
  readonly counts = new Map<string, number>();
  readonly violations: { channel: string; why: string; input: string }[] = [];

  add(channel: string, v: Verdict, input: () => unknown): void {
    const key = `${channel}\t${v.kind}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (!v.ok) this.violation(channel, v.why ?? v.kind, input);
  }

  violation(channel: string, why: string, input: () => unknown): void {
    if (this.violations.length >= 200) return;
    let text: string;
    try {
      text = JSON.stringify(input(), (_k, x: unknown) => (typeof x === 'string' && x.length > 300 ? `${x.slice(0, 300)}…(${x.length} chars)` : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
    } catch {
      text = String(input());
    }
    this.violations.push({ channel, why, input: text.slice(0, 1_500) });
  }

  total(channel?: string): number {
    let n = 0;
    for (const [k, c] of this.counts) if (!channel || k.startsWith(`${channel}\t`)) n += c;
    return n;
  }

  /** A Markdown table: channel | answer | count, sorted by channel then count. */
  table(): string {
    const rows = [...this.counts].map(([k, n]) => [...k.split('\t'), String(n)] as [string, string, string]);
    rows.sort((a, b) => a[0].localeCompare(b[0]) || Number(b[2]) - Number(a[2]) || a[1].localeCompare(b[1]));
    const head: [string, string, string] = ['channel', 'answer', 'count'];
    const w = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => (i === 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ')} |`;
    return [line(head), `| ${w.map((n, i) => (i === 2 ? `${'-'.repeat(n - 1)}:` : '-'.repeat(n))).join(' | ')} |`, ...rows.map(line)].join('\n');
  }
}

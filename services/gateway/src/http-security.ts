import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/**
 * What the gateway tells browsers about everything it serves, and whom it lets in across
 * sites. Pure functions over headers; wired in gateway.ts (HTTP) and on the WebSocket upgrade.
 */

/**
 * The page may load scripts, styles, images, fonts and workers from the gateway only, connect
 * only to it (`'self'` covers ws:/wss: of the same host in CSP Level 3 browsers), and never runs
 * inline script, plugins or frames of itself elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every response the gateway writes: API JSON, pages, assets, probes, 404s. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors for browsers that predate it.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
});

/** Sets the security headers; a handler that writes later (static pages) may refine the CSP. */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
}

export type OriginVerdict = 'absent' | 'allowed' | 'forbidden';

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Decides on a request's `Origin`: absent (not a browser, or a same-origin GET), allowed (the
 * gateway's own host, or listed in CORS_ORIGINS), or forbidden (anything else, including the
 * opaque origin `null` of sandboxed frames and files).
 */
export function checkOrigin(headers: IncomingHttpHeaders, allowed: readonly string[]): OriginVerdict {
  const origin = first(headers.origin);
  if (origin === undefined || origin === '') return 'absent';
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'forbidden';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'forbidden';
  const normalized = `${url.protocol}//${url.host}`.toLowerCase();
  if (allowed.includes(normalized)) return 'allowed';
  const host = first(headers.host)?.toLowerCase();
  return host !== undefined && host === url.host.toLowerCase() ? 'allowed' : 'forbidden';
}

/** Headers a browser needs to let a page on an allowed origin read the answer (and preflight). */
export function corsHeaders(origin: string, preflight: boolean): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    ...(preflight
      ? {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': 'content-type, authorization, apollo-require-preflight, x-apollo-operation-name',
          'access-control-max-age': '600',
        }
      : {}),
  };
}

/**
 * The caller's address for per-address limits: the socket's peer, or (behind a trusted proxy)
 * the last `X-Forwarded-For` entry, i.e. the address that proxy saw. Earlier entries are the
 * client's own claims and never trusted.
 */
export function clientAddress(headers: IncomingHttpHeaders, peer: string | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = first(headers['x-forwarded-for']);
    const last = xff?.split(',').at(-1)?.trim();
    if (last) return last.slice(0, 64);
  }
  return peer ?? 'unknown';
}

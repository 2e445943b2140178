import { foldText } from './text.js';

/**
 * Links in a message (pure): URLs with a scheme, `www.` addresses, and bare domains under
 * common top-level domains ("example.com/x"). Hosts are lower-cased, without `www.`.
 */

const COMMON_TLDS = [
  'com', 'net', 'org', 'info', 'biz', 'io', 'co', 'me', 'ly', 'gg', 'app', 'dev', 'xyz', 'top', 'site', 'online', 'link', 'click',
  'shop', 'store', 'live', 'tv', 'cc', 'ru', 'cn', 'br', 'pt', 'uk', 'de', 'fr', 'es', 'it', 'nl', 'us', 'ai',
];
const SCHEME_OR_WWW = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/giu;
const BARE_DOMAIN = new RegExp(
  `(?<![\\p{L}\\p{N}@./-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+(?:${COMMON_TLDS.join('|')}))(?![\\p{L}\\p{N}-])(?:[/?#][^\\s<>"'\`]*)?`,
  'giu',
);

function hostOf(url: string): string | undefined {
  try {
    const host = new URL(/^https?:\/\//i.test(url) ? url : `http://${url}`).hostname.toLowerCase();
    return host.replace(/^www\./, '').replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/** The hosts of the links in a text, one per link, in order. */
export function findLinks(text: string): string[] {
  const folded = foldText(text);
  const hosts: string[] = [];
  const taken: [number, number][] = [];
  for (const m of folded.matchAll(SCHEME_OR_WWW)) {
    const h = hostOf(m[0]);
    if (h) hosts.push(h);
    taken.push([m.index, m.index + m[0].length]);
  }
  for (const m of folded.matchAll(BARE_DOMAIN)) {
    if (taken.some(([a, b]) => m.index >= a && m.index < b)) continue;
    const h = hostOf(m[1] ?? m[0]);
    if (h) hosts.push(h);
  }
  return hosts;
}

/** The blocked domain a host falls under (itself or a subdomain), or undefined. */
export function blockedDomain(host: string, blocked: readonly string[]): string | undefined {
  return blocked.find((d) => host === d || host.endsWith(`.${d}`));
}

import type { ParsedQuery } from './query.js';
import { tokenize } from './text.js';

/** Characters of context a snippet aims at (words are not cut). */
export const SNIPPET_LENGTH = 160;

/**
 * The matched words in their context, as plain text (pure): a window of the body around its
 * first token that a query lexeme matches, cut at whitespace, `…` where text was left out, runs
 * of whitespace collapsed. A body with no match (it changed since it was indexed) gives its start.
 */
export function snippet(body: string, query: ParsedQuery, length = SNIPPET_LENGTH): string {
  const words = query.clauses.flatMap((c) => c.lexemes);
  let at = -1;
  for (const t of tokenize(body)) {
    if (t.kind === 'word') {
      if (words.some((w) => (w.prefix ? t.lexeme.startsWith(w.lexeme) : t.lexeme === w.lexeme))) at = t.start;
    } else {
      const run = t.chars.join('');
      const hits = words.map((w) => run.indexOf(w.lexeme)).filter((i) => i >= 0);
      // Offsets inside a run hold when NFKC kept its length (it does for ordinary text).
      if (hits.length > 0) at = t.start + (run.length === t.end - t.start ? Math.min(...hits) : 0);
    }
    if (at >= 0) break;
  }
  const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
  if (body.length <= length) return flat(body);
  let start = Math.max(0, (at < 0 ? 0 : at) - Math.floor(length / 3));
  if (start > 0) {
    const space = body.lastIndexOf(' ', start);
    start = space >= 0 && start - space < 20 ? space + 1 : start;
  }
  let end = Math.min(body.length, start + length);
  if (end < body.length) {
    const space = body.indexOf(' ', end);
    end = space >= 0 && space - end < 20 ? space : end;
  }
  // Never cut a surrogate pair in two.
  if (/[\udc00-\udfff]/.test(body[start] ?? '')) start++;
  if (/[\udc00-\udfff]/.test(body[end] ?? '')) end++;
  return `${start > 0 ? '…' : ''}${flat(body.slice(start, end))}${end < body.length ? '…' : ''}`;
}

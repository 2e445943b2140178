import { parseQuery, type ParsedQuery } from './query.js';
import { tokenize } from './text.js';

/**
 * Why a text matched a query, for clients (pure, and nothing behind it needs a database: the
 * web client imports this as `@conversa/search-index/match` to highlight snippets). The query is
 * parsed and the text analysed exactly as the index does it, so what is marked is what matched.
 */
export { parseQuery, type ParsedQuery };

/** A matched part of a text: UTF-16 offsets, `end` exclusive. */
export interface MatchRange {
  start: number;
  end: number;
}

/**
 * The parts of `text` that the query's words match, ascending, overlaps merged: a whole word
 * for a word the query names or begins (`deplo` marks all of `deployment`, `cafe` marks
 * `Café`), and inside a CJK run each occurrence of the query's characters. Every word of a
 * phrase is marked wherever it stands (not only where the phrase is whole).
 */
export function matchRanges(text: string, query: ParsedQuery): MatchRange[] {
  const lexemes = query.clauses.flatMap((c) => c.lexemes);
  if (lexemes.length === 0) return [];
  const found: MatchRange[] = [];
  for (const t of tokenize(text)) {
    if (t.kind === 'word') {
      if (lexemes.some((l) => (l.prefix ? t.lexeme.startsWith(l.lexeme) : t.lexeme === l.lexeme)))
        found.push({ start: t.start, end: t.end });
      continue;
    }
    const run = t.chars.join('');
    // Offsets inside a run hold when NFKC kept its length (it does for ordinary text); else the run.
    const exact = run.length === t.end - t.start;
    for (const l of lexemes) {
      for (let at = run.indexOf(l.lexeme); at >= 0; at = run.indexOf(l.lexeme, at + 1)) {
        found.push(exact ? { start: t.start + at, end: t.start + at + l.lexeme.length } : { start: t.start, end: t.end });
      }
    }
  }
  found.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: MatchRange[] = [];
  for (const r of found) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

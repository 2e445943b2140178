import { matchRanges, parseQuery } from '@conversa/search-index/match';

/** A piece of a snippet: plain text, marked when the query's words match it. */
export interface Segment {
  text: string;
  match: boolean;
}

/**
 * A snippet cut into plain and matched pieces for `query`, with the index's own analysis (the
 * server sends snippets as plain text, without marks). The pieces are text: the view makes Text
 * nodes and <mark> elements of them, never HTML.
 */
export function highlight(snippet: string, query: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const r of matchRanges(snippet, parseQuery(query))) {
    if (r.start > at) out.push({ text: snippet.slice(at, r.start), match: false });
    out.push({ text: snippet.slice(r.start, r.end), match: true });
    at = r.end;
  }
  if (at < snippet.length) out.push({ text: snippet.slice(at), match: false });
  return out;
}

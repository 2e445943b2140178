import { cjkGrams, quoteLexeme, tokenize, type Token } from './text.js';

/**
 * The query language (pure): words, prefixes and phrases in quotes, every part required.
 *
 * - `deplo` — a bare word matches the word and every word it begins (`deployment`): people type
 *   searches as they go. A whole-word match ranks above a prefix match.
 * - `"release notes"` — a quoted phrase: those words in that order, each matched whole.
 * - `会议` — a CJK run: its bigrams in a row (a phrase), so any substring of a run matches.
 * - `e-mail`, `v1.2` — a bare chunk that splits into several words is a phrase of them (the
 *   last one a prefix).
 * - Parts are joined with AND. A quote without its closing quote runs to the end. Anything that
 *   is not a letter or digit separates words. At most MAX_QUERY_LEXEMES lexemes are used.
 */

export interface QueryLexeme {
  lexeme: string;
  /** Matches every lexeme that begins with it. */
  prefix: boolean;
}

/** One required part: a single lexeme, or several that must follow each other (a phrase). */
export interface QueryClause {
  lexemes: QueryLexeme[];
}

export interface ParsedQuery {
  clauses: QueryClause[];
}

export const MAX_QUERY_LEXEMES = 32;

function clauseOf(tokens: Token[], prefixLast: boolean): QueryClause | null {
  const lexemes: QueryLexeme[] = [];
  for (const t of tokens) {
    if (t.kind === 'word') lexemes.push({ lexeme: t.lexeme, prefix: false });
    else for (const g of cjkGrams(t.chars)) lexemes.push({ lexeme: g, prefix: false });
  }
  if (lexemes.length === 0) return null;
  const last = tokens.at(-1);
  if (prefixLast && last?.kind === 'word') lexemes[lexemes.length - 1]!.prefix = true;
  return { lexemes };
}

export function parseQuery(input: string): ParsedQuery {
  const clauses: QueryClause[] = [];
  const seen = new Set<string>();
  const push = (c: QueryClause | null) => {
    if (!c) return;
    const key = c.lexemes.map((l) => `${l.lexeme}${l.prefix ? '*' : ''}`).join(' ');
    if (!seen.has(key)) {
      seen.add(key);
      clauses.push(c);
    }
  };
  // Split into quoted phrases and the bare text between them.
  const parts = input.split('"');
  parts.forEach((part, i) => {
    if (i % 2 === 1) push(clauseOf(tokenize(part), false));
    else for (const chunk of part.split(/\s+/)) if (chunk) push(clauseOf(tokenize(chunk), true));
  });
  // Bound the work one query can ask of the index.
  let budget = MAX_QUERY_LEXEMES;
  const bounded: QueryClause[] = [];
  for (const c of clauses) {
    if (budget <= 0) break;
    const lexemes = c.lexemes.slice(0, budget);
    budget -= lexemes.length;
    bounded.push({ lexemes });
  }
  return { clauses: bounded };
}

const lexemeQuery = (l: QueryLexeme) => `${quoteLexeme(l.lexeme)}${l.prefix ? ':*' : ''}`;

/**
 * The tsquery text of a parsed query (for `$n::tsquery`, no further normalization), or null when
 * it has no words (nothing can match). `exact`: without prefixes, the ranking's second query, so
 * that a whole-word match ranks above a word that only begins with it.
 */
export function toTsqueryText(q: ParsedQuery, opts: { exact?: boolean } = {}): string | null {
  if (q.clauses.length === 0) return null;
  const one = (l: QueryLexeme) => (opts.exact ? quoteLexeme(l.lexeme) : lexemeQuery(l));
  return q.clauses.map((c) => (c.lexemes.length === 1 ? one(c.lexemes[0]!) : `(${c.lexemes.map(one).join(' <-> ')})`)).join(' & ');
}

/**
 * Text analysis of the search index (pure): what a message body and a query become before they
 * enter PostgreSQL's full-text search as tsvector and tsquery. One function for both sides, so a
 * query is normalized exactly as the bodies were.
 *
 * - Words (letters, digits and their combining marks, outside CJK scripts) are folded: NFKC
 *   (full-width forms, ligatures), then the Latin combining accents dropped (NFKD, U+0300–U+036F
 *   removed, NFC again: "Café" → "cafe"; Devanagari vowel signs, Hangul and kana voicing are not
 *   accents and stay), then lower case.
 * - CJK runs (Han, Hiragana, Katakana, Hangul) have no spaces between words, and PostgreSQL's
 *   parser (C.UTF-8 here) keeps a whole run as one word: each run becomes its overlapping bigrams
 *   at consecutive positions ("会议取消" → 会议 议取 取消), the standard CJK tokenization
 *   (Lucene's CJKBigramFilter), so any two-character substring is a lexeme and longer ones are
 *   phrases of bigrams. A one-character run is a unigram at its position; every character of a
 *   longer run is also a unigram without position, so a one-character query finds it anywhere.
 */

const CJK_CLASS = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc\u3005\u3006`;
/** A CJK run, or a word of letters, digits and marks that are not CJK. */
const TOKEN = new RegExp(String.raw`([${CJK_CLASS}]+)|([[\p{L}\p{N}\p{M}]--[${CJK_CLASS}]]+)`, 'gv');

/** Longest lexeme kept (characters); longer words are cut, on both sides alike. */
export const MAX_LEXEME = 64;
/** PostgreSQL's highest tsvector position (larger ones are clamped by PostgreSQL too). */
const MAX_POSITION = 16_383;
/** PostgreSQL keeps at most 256 positions per lexeme. */
const MAX_POSITIONS_PER_LEXEME = 256;

export type Token =
  | { kind: 'word'; lexeme: string; start: number; end: number }
  | { kind: 'cjk'; chars: string[]; start: number; end: number };

/** Folds a word: compatibility forms, Latin accents, case ("ＣＡＦÉ" → "cafe"). */
export function foldWord(word: string): string {
  const folded = word
    .normalize('NFKC')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .toLowerCase();
  return [...folded].slice(0, MAX_LEXEME).join('');
}

/** The tokens of a text, in order, with their offsets in it (UTF-16 indexes). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[1] !== undefined) {
      out.push({ kind: 'cjk', chars: [...m[1].normalize('NFKC')], start, end });
    } else {
      const lexeme = foldWord(m[0]);
      if (lexeme.length > 0) out.push({ kind: 'word', lexeme, start, end });
    }
  }
  return out;
}

/** The bigrams of a CJK run (a one-character run: the character). */
export function cjkGrams(chars: readonly string[]): string[] {
  if (chars.length <= 1) return [...chars];
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** A lexeme as a tsvector/tsquery literal element: single-quoted, quotes doubled, backslashes escaped. */
export function quoteLexeme(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The lexemes of a text with their positions (an empty list: a unigram without position). */
export function lexemes(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let pos = 0;
  const add = (lexeme: string, position: number | null) => {
    let list = out.get(lexeme);
    if (!list) out.set(lexeme, (list = []));
    if (position !== null && list.length < MAX_POSITIONS_PER_LEXEME && list.at(-1) !== position) list.push(position);
  };
  for (const t of tokenize(text)) {
    if (t.kind === 'word') {
      add(t.lexeme, (pos = Math.min(pos + 1, MAX_POSITION)));
      continue;
    }
    for (const g of cjkGrams(t.chars)) add(g, (pos = Math.min(pos + 1, MAX_POSITION)));
    if (t.chars.length > 1) for (const c of t.chars) add(c, null);
  }
  return out;
}

/** The text of a tsvector (`'lexeme':1,4 'other':2 '猫'`) for `$n::tsvector`; '' for no words. */
export function toTsvectorText(text: string): string {
  return [...lexemes(text)]
    .map(([lexeme, positions]) => (positions.length > 0 ? `${quoteLexeme(lexeme)}:${positions.join(',')}` : quoteLexeme(lexeme)))
    .join(' ');
}

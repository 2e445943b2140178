import { LOOKALIKES, foldText } from './text.js';

/**
 * Banned words and phrases as one regular expression (pure). Each letter of a term matches
 * itself or its look-alikes (`b4d`), repeated (`baaad`, also `b a a d`), with separators
 * between letters (`b a d`, `b.a.d`, `b-a-d`); the term must stand as a whole word (no letter
 * or digit right before or after it), so "bad" does not fire on "badge". The text is folded
 * first (`foldText`: case, accents, invisible characters).
 */

/** What may stand between the letters of a dodged word. */
const SEP = `[\\s._\\-*~,;:'"\`^/\\\\]`;

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, '\\$&');
}

function letterClass(c: string): string {
  const alikes = LOOKALIKES[c] ?? '';
  if (alikes === '' && !/[\p{L}\p{N}]/u.test(c)) return `[${escapeClass(c)}]`;
  return `[${escapeClass(c + alikes)}]`;
}

/** The pattern source of one term (already folded). Spaces and hyphens in a phrase may be absent or repeated. */
function termSource(term: string): string {
  const units: string[] = [];
  for (const c of term) {
    if (/[\s\-_.]/.test(c)) continue; // a phrase's own separators: covered by SEP* between units
    const cls = letterClass(c);
    units.push(`${cls}(?:${SEP}*${cls})*`);
  }
  return units.join(`${SEP}*`);
}

export interface TermMatcher {
  /** The first banned term found in the text (as configured), or undefined. */
  find(text: string): string | undefined;
}

/** Builds a matcher for terms; blank terms are ignored. */
export function termMatcher(terms: readonly string[]): TermMatcher {
  const folded = [...new Set(terms.map((t) => foldText(t).trim()).filter((t) => /[\p{L}\p{N}]/u.test(t)))];
  if (folded.length === 0) return { find: () => undefined };
  // Longest first, so a phrase wins over a word it contains.
  folded.sort((a, b) => b.length - a.length);
  const original = new Map(terms.map((t) => [foldText(t).trim(), t.trim()]));
  const sources = folded.map((t, i) => `(?<t${i}>${termSource(t)})`);
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${sources.join('|')})(?![\\p{L}\\p{N}])`, 'u');
  return {
    find(text) {
      const m = re.exec(foldText(text));
      if (!m?.groups) return undefined;
      const i = Object.entries(m.groups).findIndex(([, v]) => v !== undefined);
      const term = folded[i];
      return term === undefined ? undefined : (original.get(term) ?? term);
    },
  };
}

/**
 * Text folding for the moderation rules (pure). People dodge word filters with case, accents,
 * invisible characters, letter-for-digit swaps, repeated letters and spacing; folding removes
 * the first three, and the banned-term patterns (`terms.ts`) absorb the rest.
 */

/**
 * Characters that render as nothing (zero-width space/joiners, word joiner, BOM, soft hyphen,
 * bidi controls, Hangul fillers): inserted between letters to dodge filters. Invisible
 * combining marks (variation selectors, the grapheme joiner) go with the other marks.
 */
const INVISIBLE = /[\u00AD\u061C\u115F\u1160\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0]/gu;

/** Lower case, no accents (NFKD, marks dropped: "BÁD" → "bad"; fullwidth → ASCII), no invisible characters. */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').replace(INVISIBLE, '').toLowerCase();
}

/** Letter-for-digit (and symbol) swaps, by the letter they stand for. */
export const LOOKALIKES: Readonly<Record<string, string>> = {
  a: '4@',
  e: '3',
  i: '1!|',
  l: '1|',
  o: '0',
  s: '5$',
  t: '7+',
};

/** Digit (and @, $) swaps back to letters; "!", "|" and "+" stay punctuation here ("now!!!" is not "nowiii"). */
const LOOKALIKE_TO_LETTER: Readonly<Record<string, string>> = { '4': 'a', '@': 'a', '3': 'e', '1': 'i', '0': 'o', '5': 's', $: 's', '7': 't' };

/**
 * The skeleton of a message for "the same text again": folded, look-alikes mapped to letters,
 * everything but letters and digits dropped, runs of one character collapsed
 * ("Buy  NOW!!!" and "buy now" and "buuuy n0w" give the same skeleton).
 */
export function skeleton(s: string): string {
  return foldText(s)
    .replace(/[4@3057$1]/g, (c) => LOOKALIKE_TO_LETTER[c] ?? c)
    .replace(/[^\p{L}\p{N}]+/gu, '')
    .replace(/(.)\1+/gu, '$1');
}

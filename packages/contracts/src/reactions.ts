import { LIMITS } from './domain.js';

/**
 * What may be a reaction: one emoji (a single grapheme that is pictographic, a flag, or a keycap)
 * or a `:shortcode:` of 1..32 of a-z 0-9 _ + -. Returns the reaction as stored (NFC), or an
 * error message naming what is wrong. Whitespace around it is not trimmed: " 👍" is refused,
 * so that a client's bug is seen rather than silently counted as 👍.
 */
export function parseReaction(input: string): { ok: true; emoji: string } | { ok: false; error: string } {
  const emoji = input.normalize('NFC');
  if (emoji.length === 0) return { ok: false, error: 'emoji: empty' };
  if (emoji.startsWith(':') || emoji.endsWith(':')) {
    const code = emoji.slice(1, -1);
    if (emoji.length >= 3 && emoji.startsWith(':') && emoji.endsWith(':') && code.length <= LIMITS.reactionShortcodeMax && SHORTCODE.test(code))
      return { ok: true, emoji };
    return { ok: false, error: `emoji: a :shortcode: is 1-${LIMITS.reactionShortcodeMax} characters of a-z 0-9 _ + - between two colons` };
  }
  if (emoji.length > 64) return { ok: false, error: 'emoji: one emoji or a :shortcode:, not text' };
  const graphemes = [...SEGMENTER.segment(emoji)];
  if (graphemes.length !== 1) return { ok: false, error: 'emoji: exactly one emoji (one grapheme) or a :shortcode:' };
  if (!EMOJI.test(emoji)) return { ok: false, error: 'emoji: not an emoji; use one emoji or a :shortcode:' };
  return { ok: true, emoji };
}

const SHORTCODE = /^[a-z0-9_+-]+$/;
const SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** A pictograph, a regional-indicator pair (flag) or a keycap (digit + U+20E3). */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|\u20E3/u;

import { describe, expect, it } from 'vitest';
import { parseReaction } from './reactions.js';

describe('parseReaction', () => {
  it.each(['👍', '❤️', '👍🏽', '👩‍👩‍👧', '🇫🇷', '1️⃣', ':tada:', ':+1:', ':a:', ':thumbs_up-2:'])('accepts %s', (e) => {
    expect(parseReaction(e)).toEqual({ ok: true, emoji: e.normalize('NFC') });
  });

  it.each([
    ['', 'empty'],
    ['👍👍', 'exactly one emoji'],
    ['a', 'not an emoji'],
    [' 👍', 'exactly one emoji'],
    ['::', 'shortcode'],
    [':Tada:', 'shortcode'],
    [':has space:', 'shortcode'],
    [`:${'a'.repeat(33)}:`, 'shortcode'],
    [':tada', 'shortcode'],
    ['<script>', 'exactly one emoji'],
    ['x'.repeat(100), 'not text'],
  ])('refuses %j, naming what is wrong', (e, why) => {
    const r = parseReaction(e);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^emoji: /);
      expect(r.error).toContain(why);
    }
  });
});

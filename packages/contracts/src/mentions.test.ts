import { describe, expect, it } from 'vitest';
import { MENTIONS_MAX, mentionRanges, mentionsIn } from './mentions.js';

describe('mentionsIn', () => {
  it('finds @usernames case-insensitively, once each, and @room', () => {
    expect(mentionsIn('hi @Ann and @bob_1, @ann again; @room look')).toEqual({ usernames: ['ann', 'bob_1'], room: true });
  });

  it('drops sentence punctuation after a name but keeps dots inside one', () => {
    expect(mentionsIn('thanks @ann. and @j.doe-')).toEqual({ usernames: ['ann', 'j.doe'], room: false });
  });

  it('ignores e-mail addresses, names too short, and an @ inside a word', () => {
    expect(mentionsIn('mail ann@example.com or @ab or x@room')).toEqual({ usernames: [], room: false });
  });

  it('counts at most MENTIONS_MAX names', () => {
    const body = Array.from({ length: MENTIONS_MAX + 10 }, (_, i) => `@user${i}`).join(' ');
    expect(mentionsIn(body).usernames).toHaveLength(MENTIONS_MAX);
  });
});

describe('mentionRanges', () => {
  it('gives where each @name is, the @ included, sentence punctuation left out', () => {
    const body = 'hi @Ann. and @j.doe, mail x@y.com @room!';
    const r = mentionRanges(body);
    expect(r.map((x) => [body.slice(x.start, x.end), x.name])).toEqual([
      ['@Ann', 'ann'],
      ['@j.doe', 'j.doe'],
      ['@room', 'room'],
    ]);
  });

  it('finds names after an emoji and at the very start', () => {
    const body = '@ben 👍@cat_1';
    expect(mentionRanges(body).map((x) => body.slice(x.start, x.end))).toEqual(['@ben', '@cat_1']);
  });
});

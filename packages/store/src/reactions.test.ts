import { describe, expect, it } from 'vitest';
import { summarize } from './reactions.js';

const t = (s: number) => new Date(s * 1000);

describe('summarize', () => {
  it('most used first, ties by the emoji used first; reactors earliest first', () => {
    expect(
      summarize([
        { emoji: '🎉', user: 'b', at: t(3) },
        { emoji: '👍', user: 'c', at: t(2) },
        { emoji: '🎉', user: 'a', at: t(1) },
        { emoji: '👀', user: 'a', at: t(0) },
        { emoji: '👍', user: 'd', at: t(4) },
      ]),
    ).toEqual([
      { emoji: '🎉', count: 2, users: ['a', 'b'] },
      { emoji: '👍', count: 2, users: ['c', 'd'] },
      { emoji: '👀', count: 1, users: ['a'] },
    ]);
  });

  it('keeps at most 1,000 reactors per emoji but counts them all', () => {
    const rows = Array.from({ length: 1_200 }, (_, i) => ({ emoji: '👍', user: `u${i}`, at: t(i) }));
    const [s] = summarize(rows);
    expect(s?.count).toBe(1_200);
    expect(s?.users).toHaveLength(1_000);
    expect(s?.users[0]).toBe('u0');
  });

  it('nothing for no rows', () => {
    expect(summarize([])).toEqual([]);
  });
});

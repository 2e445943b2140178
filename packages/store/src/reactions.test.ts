import { describe, expect, it } from 'vitest';
import { summarize, withAdded } from './reactions.js';

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
      { emoji: '🎉', count: 2, users: ['a', 'b'], first: 1_000, last: 3_000 },
      { emoji: '👍', count: 2, users: ['c', 'd'], first: 2_000, last: 4_000 },
      { emoji: '👀', count: 1, users: ['a'], first: 0, last: 0 },
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

describe('withAdded: the summary extended by new reactions is what summarize gives for all the rows', () => {
  // A small deterministic generator, so a failure replays.
  const rng = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const EMOJI = ['👍', '🎉', '👀', ':ship-it:'];

  it('for random histories, batch by batch, ties and the kept-reactors cap included', () => {
    const random = rng(7);
    for (let run = 0; run < 200; run++) {
      const rows: { emoji: string; user: string; at: Date }[] = [];
      let summary = summarize(rows);
      let clock = 0;
      const big = run % 50 === 0; // now and then past the 1,000 reactors kept
      for (let batch = 0; batch < (big ? 3 : 6); batch++) {
        const added = Array.from({ length: big ? 700 : 1 + Math.floor(random() * 5) }, (_, i) => ({
          emoji: EMOJI[Math.floor(random() * EMOJI.length)]!,
          user: `u${batch}-${i}`,
          // Later than everything counted; within a batch, equal times are allowed (ties by user).
          at: new Date(clock + Math.floor(random() * 3)),
        }));
        clock += 10;
        rows.push(...added);
        summary = withAdded(summary, added)!;
        expect(summary).toEqual(summarize(rows));
      }
    }
  });

  it('declines a summary stored without its times', () => {
    expect(withAdded([{ emoji: '👍', count: 1, users: ['a'] }], [{ emoji: '👍', user: 'b', at: t(1) }])).toBeUndefined();
    expect(withAdded([], [{ emoji: '👍', user: 'b', at: t(1) }])).toEqual([{ emoji: '👍', count: 1, users: ['b'], first: 1_000, last: 1_000 }]);
  });
});

import { describe, expect, it } from 'vitest';
import { SeqTracker } from './seq.js';

describe('SeqTracker', () => {
  it('delivers the next seq, drops what was delivered, flags a hole, per room', () => {
    const t = new SeqTracker();
    t.set('a', 3);
    expect(t.accept('a', 4)).toBe('deliver');
    expect(t.accept('a', 4)).toBe('duplicate');
    expect(t.accept('a', 2)).toBe('duplicate');
    expect(t.accept('a', 6)).toBe('gap');
    expect(t.get('a')).toBe(4);
    expect(t.accept('a', 5)).toBe('deliver');
    expect(t.accept('b', 9)).toBe('deliver');
    expect(t.get('b')).toBe(9);
    expect(t.get('a')).toBe(5);
  });

  it('a replay after a resume repeats nothing: only seqs past the last one pass', () => {
    const t = new SeqTracker();
    t.set('r', 0);
    const seen: number[] = [];
    for (const s of [1, 2, 3, /* reconnect, resume after 3, seam overlap */ 3, 4, 5])
      if (t.accept('r', s) === 'deliver') seen.push(s);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

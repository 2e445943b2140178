import { describe, expect, it } from 'vitest';
import { TimerWheel } from './timer-wheel.js';

const wheel = (start = 10_000) => {
  let now = start;
  const fired: string[] = [];
  const w = new TimerWheel<string>({ resolutionMs: 1_000, fire: (x) => fired.push(x), now: () => now });
  return { w, fired, at: (t: number) => ((now = t), w.tick()) };
};

describe('TimerWheel', () => {
  it('fires an item once its deadline passed, never early, at most one bucket late', () => {
    const { w, fired, at } = wheel();
    w.schedule('a', 12_500);
    at(12_400);
    expect(fired).toEqual([]);
    at(12_999);
    expect(fired).toEqual([]);
    at(13_000);
    expect(fired).toEqual(['a']);
    at(20_000);
    expect(fired).toEqual(['a']);
    w.clear();
  });

  it('fires every bucket a late tick skipped over, in deadline order', () => {
    const { w, fired, at } = wheel();
    w.schedule('late', 15_000);
    w.schedule('early', 11_000);
    at(30_000);
    expect(fired).toEqual(['early', 'late']);
    expect(w.size).toBe(0);
  });

  it('does not fire a cancelled item', () => {
    const { w, fired, at } = wheel();
    const slot = w.schedule('gone', 11_000);
    w.schedule('kept', 11_000);
    w.cancel('gone', slot);
    at(12_000);
    expect(fired).toEqual(['kept']);
  });

  it('puts a deadline in the past into the next bucket', () => {
    const { w, fired, at } = wheel();
    at(11_000);
    w.schedule('past', 5_000);
    expect(fired).toEqual([]);
    at(12_000);
    expect(fired).toEqual(['past']);
  });
});

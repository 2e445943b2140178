import { afterEach, describe, expect, it, vi } from 'vitest';
import { fullGc, StormSettler } from './settle-gc.js';

describe('StormSettler: one full collection once a connect storm is over', () => {
  afterEach(() => void vi.useRealTimers());

  const settler = (minConnects: number) => {
    const runs: number[] = [];
    const s = new StormSettler({ minConnects, quietMs: 5_000, collect: () => runs.push(Date.now()), collected: vi.fn() });
    return { s, runs };
  };

  it('collects once, 5 s after the last connect of a storm, and counts the next storm afresh', () => {
    vi.useFakeTimers();
    const { s, runs } = settler(3);
    for (let i = 0; i < 10; i++) {
      s.connected();
      vi.advanceTimersByTime(1_000); // a connect every second: the storm goes on
    }
    expect(runs).toHaveLength(0);
    vi.advanceTimersByTime(4_000);
    expect(runs).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(runs).toHaveLength(1);
    // Two connects are not a storm: no collection.
    s.connected();
    s.connected();
    vi.advanceTimersByTime(60_000);
    expect(runs).toHaveLength(1);
    s.connected();
    vi.advanceTimersByTime(5_000);
    expect(runs).toHaveLength(2);
  });

  it('never collects with minConnects 0, nor after stop()', () => {
    vi.useFakeTimers();
    const off = settler(0);
    for (let i = 0; i < 100; i++) off.s.connected();
    vi.advanceTimersByTime(60_000);
    expect(off.runs).toHaveLength(0);
    const stopped = settler(1);
    stopped.s.connected();
    stopped.s.stop();
    vi.advanceTimersByTime(60_000);
    expect(stopped.runs).toHaveLength(0);
  });

  it('reaches V8\'s full collection without --expose-gc on the command line, and it frees garbage', async () => {
    const gc = fullGc();
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef's target is kept to the end of the job that made it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(ref.deref()).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { KeyedBatches, Recounts } from './recounts.js';

/** A recount the test releases by hand, recording what each run saw. */
function gated() {
  let writes = 0;
  const runs: { saw: number; release: () => void }[] = [];
  const r = new Recounts<number>(
    () =>
      new Promise<number>((resolve) => {
        const saw = writes;
        runs.push({ saw, release: () => resolve(saw) });
      }),
  );
  return { r, runs, write: () => ++writes };
}

describe('Recounts', () => {
  it('runs one recount per key at a time; calls during it share one next run that sees their writes', async () => {
    const { r, runs, write } = gated();
    write();
    const first = r.run('m');
    expect(runs).toHaveLength(1);
    const later = [1, 2, 3].map(() => (write(), r.run('m')));
    expect(runs).toHaveLength(1); // nothing starts while one runs
    runs[0]!.release();
    expect(await first).toBe(1);
    await Promise.resolve();
    expect(runs).toHaveLength(2);
    runs[1]!.release();
    // Every later caller gets the run that started after its write: it saw all 4 writes.
    expect(await Promise.all(later)).toEqual([4, 4, 4]);
    expect(r.size).toBe(0);
  });

  it('keys are independent', () => {
    const { r, runs } = gated();
    void r.run('a');
    void r.run('b');
    expect(runs).toHaveLength(2);
  });

  it('a failed run rejects its callers only; the queued run still goes', async () => {
    let n = 0;
    const r = new Recounts<number>(() => {
      n++;
      return n === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(n);
    });
    const first = r.run('k');
    const second = r.run('k');
    await expect(first).rejects.toThrow('boom');
    expect(await second).toBe(2);
  });
});

describe('KeyedBatches', () => {
  it('one flush per key at a time; what comes meanwhile is one next batch, each op answered in order', async () => {
    const flushes: { ops: number[]; release: () => void }[] = [];
    const b = new KeyedBatches<number, string>(
      (key, ops) => new Promise((resolve) => flushes.push({ ops, release: () => resolve(ops.map((o) => `${key}:${o}`)) })),
    );
    const first = b.submit('m', 1);
    const later = [2, 3, 4].map((o) => b.submit('m', o));
    const other = b.submit('n', 9);
    expect(flushes.map((f) => f.ops)).toEqual([[1], [9]]);
    flushes[0]!.release();
    expect(await first).toBe('m:1');
    await Promise.resolve();
    expect(flushes.map((f) => f.ops)).toEqual([[1], [9], [2, 3, 4]]);
    flushes[2]!.release();
    flushes[1]!.release();
    expect(await Promise.all(later)).toEqual(['m:2', 'm:3', 'm:4']);
    expect(await other).toBe('n:9');
    expect(b.size).toBe(0);
  });

  it('a flush that answers too few ops rejects the unanswered ones', async () => {
    const b = new KeyedBatches<number, number>((_key, ops) => Promise.resolve(ops.length > 1 ? ops.slice(1) : ops));
    const gate = b.submit('k', 1);
    const [x, y] = [b.submit('k', 2), b.submit('k', 3)];
    await gate;
    expect(await x).toBe(3);
    await expect(y).rejects.toThrow(/answered 1 of 2/);
  });
});

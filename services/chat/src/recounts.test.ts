import { describe, expect, it } from 'vitest';
import { Recounts } from './recounts.js';

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

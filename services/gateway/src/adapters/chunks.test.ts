import { describe, expect, it } from 'vitest';
import { inChunks } from './chunks.js';

describe('inChunks', () => {
  it('hands over consecutive slices, one at a time, in order', async () => {
    const seen: number[][] = [];
    let running = 0;
    await inChunks(
      [1, 2, 3, 4, 5],
      async (slice) => {
        running++;
        expect(running).toBe(1);
        seen.push([...slice]);
        await Promise.resolve();
        running--;
      },
      2,
    );
    expect(seen).toEqual([[1, 2], [3, 4], [5]]);
  });
  it('does nothing for no items', async () => {
    let calls = 0;
    await inChunks([], () => Promise.resolve(calls++));
    expect(calls).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { coalesced } from './coalesce.js';

describe('coalesced', () => {
  it('shares one read among concurrent callers with the same key, and reads again once it settled', async () => {
    let reads = 0;
    let release!: (v: string) => void;
    const read = coalesced(
      (room: string, after: number) => {
        reads++;
        return new Promise<string>((r) => (release = (v) => r(`${room}:${after}:${v}`)));
      },
      (room, after) => `${room}\u0000${after}`,
    );
    const a = read('r', 1);
    const b = read('r', 1);
    const other = read('r', 2);
    expect(reads).toBe(2);
    release('x'); // settles the last read started: r/2
    await expect(other).resolves.toBe('r:2:x');
    expect(read('r', 2)).not.toBe(other);
    expect(reads).toBe(3);
    expect(read.shared).toBe(1);
    expect(a).toBe(b);
  });

  it('passes a failure to every caller and does not keep it', async () => {
    let reads = 0;
    const read = coalesced(
      () => {
        reads++;
        return Promise.reject(new Error(`down ${reads}`));
      },
      () => 'k',
    );
    const [x, y] = [read(), read()];
    await expect(x).rejects.toThrow('down 1');
    await expect(y).rejects.toThrow('down 1');
    await expect(read()).rejects.toThrow('down 2');
  });
});

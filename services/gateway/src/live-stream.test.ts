import { describe, expect, it } from 'vitest';
import { LiveStream } from './live-stream.js';

function producer() {
  const log: string[] = [];
  let stream!: LiveStream<number>;
  const s = new LiveStream<number>((self) => {
    stream = self;
    log.push('setup');
    return Promise.resolve(() => {
      log.push('cleanup');
      return Promise.resolve();
    });
  });
  return { s, log, get stream() { return stream; } };
}

describe('LiveStream', () => {
  it('starts on the first pull and delivers pushed values in order, queued or awaited', async () => {
    const p = producer();
    expect(p.log).toEqual([]);
    const first = p.s.next();
    await Promise.resolve();
    expect(p.log).toEqual(['setup']);
    p.s.push(1);
    p.s.push(2);
    p.s.push(3);
    expect(p.s.pending).toBe(2);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(await p.s.next()).toEqual({ done: false, value: 2 });
    expect(await p.s.next()).toEqual({ done: false, value: 3 });
    expect(p.s.pending).toBe(0);
    await p.s.return();
    expect(p.log).toEqual(['setup', 'cleanup']);
  });

  it('ends a waiting pull on return and runs the cleanup once', async () => {
    const p = producer();
    const waiting = p.s.next();
    await Promise.resolve();
    await p.s.return();
    await p.s.return();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(p.log).toEqual(['setup', 'cleanup']);
    p.s.push(9);
    expect(await p.s.next()).toEqual({ done: true, value: undefined });
  });

  it('delivers what is queued after the producer finishes, then done; cleanup at once', async () => {
    const p = producer();
    const first = p.s.next();
    await Promise.resolve();
    p.s.push(1);
    p.s.push(2);
    p.s.finish();
    expect(p.log).toEqual(['setup', 'cleanup']);
    expect((await first).value).toBe(1);
    expect((await p.s.next()).value).toBe(2);
    expect((await p.s.next()).done).toBe(true);
  });

  it('rejects the pull with the set-up error, then is done', async () => {
    const s = new LiveStream<number>(() => Promise.reject(new Error('no room')));
    await expect(s.next()).rejects.toThrow('no room');
    expect((await s.next()).done).toBe(true);
  });

  it('cleans up when returned while still setting up', async () => {
    const log: string[] = [];
    let finishSetup!: () => void;
    const s = new LiveStream<number>(
      () =>
        new Promise((resolve) => {
          finishSetup = () =>
            resolve(() => {
              log.push('cleanup');
              return Promise.resolve();
            });
        }),
    );
    const pull = s.next();
    const returned = s.return();
    expect(await pull).toEqual({ done: true, value: undefined });
    finishSetup();
    await returned;
    expect(log).toEqual(['cleanup']);
  });

  it('resolves drained() once the consumer pulled everything queued', async () => {
    const p = producer();
    const first = p.s.next();
    await Promise.resolve();
    p.s.push(1);
    p.s.push(2);
    let drained = false;
    const d = p.s.drained().then(() => (drained = true));
    await first;
    await Promise.resolve();
    expect(drained).toBe(false);
    await p.s.next();
    await d;
    expect(drained).toBe(true);
    await p.s.return();
  });

  it('is waiting only while a pull waits: a value just pulled may still be in its consumer’s hands', async () => {
    const p = producer();
    const first = p.s.next();
    await Promise.resolve();
    expect(p.s.waiting).toBe(true);
    p.s.push(1);
    // Pulled, not yet handled: a direct hand-over now could overtake it.
    expect(p.s.pending).toBe(0);
    expect(p.s.waiting).toBe(false);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(p.s.waiting).toBe(false);
    const second = p.s.next();
    expect(p.s.waiting).toBe(true);
    p.s.push(2);
    expect(await second).toEqual({ done: false, value: 2 });
    await p.s.return();
    expect(p.s.waiting).toBe(false);
  });
});

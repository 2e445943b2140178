import { describe, expect, it } from 'vitest';
import { lockoutMs, rateLimited, retryAfterSeconds, roomSendRefusal, roomSendTtlMs, takeRoomSend, type RoomSendState, type RoomSendVerdict } from './rate-limits.js';

describe('lockoutMs', () => {
  it('is free for the first failures, then doubles from the base up to the maximum', () => {
    const l = (f: number) => lockoutMs(f, 5, 1_000, 900_000);
    expect([1, 5].map(l)).toEqual([0, 0]);
    expect([6, 7, 8, 9].map(l)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(l(30)).toBe(900_000);
    expect(l(10_000)).toBe(900_000);
  });
});

describe('rateLimited', () => {
  it('carries whole seconds to wait, at least 1', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
    const e = rateLimited('too many messages', 2_500);
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.details).toEqual({ retryAfter: 3 });
    expect(e.message).toBe('too many messages; retry in 3 s');
  });
});

describe('takeRoomSend', () => {
  const rule = { burst: 20, refillPerMs: 1 / 1_000 }; // the defaults: 20 at once, 1 a second
  /** Sends at the given times (ms) with fresh clientMsgIds; the verdicts, threading the state. */
  let runs = 0;
  function run(times: number[], slowModeMs = 0, start: RoomSendState | null = null) {
    let state = start;
    const out: RoomSendVerdict[] = [];
    const tag = `r${++runs}`;
    times.forEach((t, i) => {
      const v = takeRoomSend(state, t, rule, slowModeMs, `${tag}-${i}`);
      if (v.ok) state = v.state;
      out.push(v);
    });
    return { out, state };
  }
  const admitted = (vs: RoomSendVerdict[]) => vs.filter((v) => v.ok).length;

  it('lets a burst of 20 in about a second through', () => {
    const { out } = run(Array.from({ length: 20 }, (_, i) => i * 50));
    expect(admitted(out)).toBe(20);
  });

  it('answers a flood of 40 as fast as possible with waits of at most a second once the burst is spent', () => {
    const { out } = run(Array.from({ length: 40 }, (_, i) => i * 10));
    expect(admitted(out)).toBe(20);
    for (const v of out.slice(20)) {
      expect(v).toMatchObject({ ok: false, reason: 'burst' });
      if (!v.ok) expect(v.waitMs).toBeLessThanOrEqual(1_000);
    }
  });

  it('refills at the rate: sustained, one a second goes through', () => {
    const burst = run(Array.from({ length: 20 }, () => 0));
    const { out } = run(Array.from({ length: 60 }, (_, i) => 1_000 * (i + 1)), 0, burst.state);
    expect(admitted(out)).toBe(60);
    // …and twice a second does not: half of them wait.
    const { out: fast } = run(Array.from({ length: 60 }, (_, i) => 500 * (i + 1)), 0, burst.state);
    expect(admitted(fast)).toBe(30);
  });

  it('never holds more than the burst, however long the pause', () => {
    const { state } = run([0]);
    const { out } = run(Array.from({ length: 25 }, () => 3_600_000), 0, state);
    expect(admitted(out)).toBe(20);
  });

  it('a refusal changes nothing, and a retry after the wait goes through', () => {
    const { state } = run(Array.from({ length: 20 }, () => 0));
    const refused = takeRoomSend(state, 100, rule, 0, 'late');
    expect(refused).toEqual({ ok: false, reason: 'burst', waitMs: 900 });
    expect(takeRoomSend(state, 999, rule, 0, 'late').ok).toBe(false);
    expect(takeRoomSend(state, 1_000, rule, 0, 'late').ok).toBe(true);
  });

  it('lets the retry of the last send let through go again without paying', () => {
    const first = takeRoomSend(null, 0, { burst: 1, refillPerMs: 1 / 60_000 }, 10_000, 'x');
    if (!first.ok) throw new Error('refused');
    expect(first.state.tokens).toBe(0);
    const again = takeRoomSend(first.state, 10, { burst: 1, refillPerMs: 1 / 60_000 }, 10_000, 'x');
    expect(again.ok).toBe(true);
    expect(takeRoomSend(first.state, 10, { burst: 1, refillPerMs: 1 / 60_000 }, 0, 'y')).toMatchObject({ ok: false, reason: 'burst' });
  });

  it('slow mode: one message per interval, the wait is the time left, lowering it applies at once', () => {
    const { out, state } = run([0, 4_000, 9_999, 10_000], 10_000);
    expect(out.map((v) => (v.ok ? 'ok' : v.waitMs))).toEqual(['ok', 6_000, 1, 'ok']);
    expect(takeRoomSend(state, 12_000, rule, 10_000, 'n')).toMatchObject({ ok: false, reason: 'slow-mode', waitMs: 8_000 });
    expect(takeRoomSend(state, 12_000, rule, 2_000, 'n').ok).toBe(true);
  });

  it('keeps a bucket until it is full again or the slow mode is over', () => {
    expect(roomSendTtlMs(rule, 0)).toBe(20_000);
    expect(roomSendTtlMs(rule, 3_600_000)).toBe(3_600_000);
  });

  it('says which limit refused, and the whole seconds to wait', () => {
    expect(roomSendRefusal({ ok: false, reason: 'burst', waitMs: 400 }, 0).details).toEqual({ retryAfter: 1 });
    const slow = roomSendRefusal({ ok: false, reason: 'slow-mode', waitMs: 29_100 }, 30);
    expect(slow.code).toBe('RATE_LIMITED');
    expect(slow.message).toBe('slow mode: one message every 30 s in this room; retry in 30 s');
    expect(slow.details).toEqual({ retryAfter: 30 });
  });
});

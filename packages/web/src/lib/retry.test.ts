import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from './errors.js';
import { retryRateLimited } from './retry.js';

const limited = (retryAfter?: number) =>
  toApiError([
    {
      message: 'too many messages in this room; retry in 1 s',
      extensions: { code: 'RATE_LIMITED', ...(retryAfter !== undefined ? { retryAfter } : {}) },
    },
  ]);

/** An attempt that fails with the given errors in turn, then answers `ok`; records its calls. */
function script(errors: Error[]) {
  const calls: number[] = [];
  return {
    calls,
    attempt: () => {
      calls.push(calls.length);
      const e = errors.shift();
      return e ? Promise.reject(e) : Promise.resolve('ok');
    },
  };
}

describe('retryRateLimited', () => {
  it('also waits out a saturated write path and an unknown outcome, repeating the same send', async () => {
    const waits: number[] = [];
    const answer = (code: string, retryAfter: number) =>
      toApiError([{ message: code, extensions: { code, retryAfter } }]);
    const s = script([answer('UNAVAILABLE', 3), answer('OUTCOME_UNKNOWN', 1)]);
    expect(
      await retryRateLimited(s.attempt, { sleep: (ms) => (waits.push(ms), Promise.resolve()) }),
    ).toBe('ok');
    expect(waits).toEqual([3_000, 1_000]);
  });

  it('waits each retryAfter and tries again until the send goes through', async () => {
    const waits: number[] = [];
    const told: number[] = [];
    const s = script([limited(1), limited(2)]);
    const out = await retryRateLimited(s.attempt, {
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
      onWait: (ms) => told.push(ms),
    });
    expect(out).toBe('ok');
    expect(s.calls).toHaveLength(3);
    expect(waits).toEqual([1_000, 2_000]);
    expect(told).toEqual(waits);
  });

  it('keeps retryAfter from the answer (at least a second when it is missing)', () => {
    expect(limited(3).retryAfter).toBe(3);
    expect(limited().retryAfter).toBeUndefined();
  });

  it('throws other errors, a wait beyond the maximum (slow mode of minutes) and after the retries', async () => {
    const sleep = () => Promise.resolve();
    const forbidden = new ApiError('you are muted', 'FORBIDDEN');
    await expect(retryRateLimited(script([forbidden]).attempt, { sleep })).rejects.toBe(forbidden);
    const long = limited(300);
    const s = script([long]);
    await expect(retryRateLimited(s.attempt, { sleep })).rejects.toBe(long);
    expect(s.calls).toHaveLength(1);
    const many = script([limited(1), limited(1), limited(1)]);
    await expect(retryRateLimited(many.attempt, { sleep, maxRetries: 2 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect(many.calls).toHaveLength(3);
  });
});

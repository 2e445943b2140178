import { describe, expect, it } from 'vitest';
import { ConversaError } from './errors.js';
import { DEFAULT_RETRY, isRetryable, reconnectDelay, retryDecision } from './retry.js';

const err = (code: ConstructorParameters<typeof ConversaError>[0], retryAfter?: number) =>
  new ConversaError(code, code, retryAfter);

describe('retry decisions', () => {
  it('retries what may have failed on the way (network, timeout, server failure, rate limit), never a refusal', () => {
    for (const c of ['NETWORK_ERROR', 'TIMEOUT', 'INTERNAL_SERVER_ERROR', 'RATE_LIMITED', 'UNAVAILABLE', 'OUTCOME_UNKNOWN'] as const)
      expect(isRetryable(err(c))).toBe(true);
    for (const c of [
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'NOT_FOUND',
      'BAD_USER_INPUT',
      'CONFLICT',
    ] as const) {
      expect(isRetryable(err(c))).toBe(false);
      expect(retryDecision(err(c), 1)).toEqual({ retry: false });
    }
  });

  it('backs off exponentially with jitter, capped, and gives up after maxAttempts', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 400 };
    const at = (attempt: number, r: number) =>
      retryDecision(err('TIMEOUT'), attempt, policy, () => r);
    expect(at(1, 0)).toEqual({ retry: true, delayMs: 50 });
    expect(at(1, 0.999)).toEqual({ retry: true, delayMs: 100 });
    expect(at(2, 0)).toEqual({ retry: true, delayMs: 100 });
    expect(at(3, 0.999)).toEqual({ retry: true, delayMs: 400 });
    expect(at(4, 0.999)).toEqual({ retry: true, delayMs: 400 });
    expect(at(5, 0)).toEqual({ retry: false });
  });

  it('waits as long as a saturated write path asks (UNAVAILABLE), and retries an unknown outcome', () => {
    expect(retryDecision(err('UNAVAILABLE', 4), 1, DEFAULT_RETRY, () => 0)).toEqual({ retry: true, delayMs: 4_000 });
    expect(retryDecision(err('OUTCOME_UNKNOWN'), 1, DEFAULT_RETRY, () => 0)).toEqual({ retry: true, delayMs: 50 });
  });

  it('waits at least as long as a rate limit asks', () => {
    expect(retryDecision(err('RATE_LIMITED', 3), 1, DEFAULT_RETRY, () => 0)).toEqual({
      retry: true,
      delayMs: 3_000,
    });
  });

  it('gives a wait longer than maxRetryAfterMs (a slow mode of minutes) back to the caller', () => {
    expect(retryDecision(err('RATE_LIMITED', 60), 1, DEFAULT_RETRY, () => 0)).toEqual({
      retry: true,
      delayMs: 60_000,
    });
    expect(retryDecision(err('RATE_LIMITED', 61), 1, DEFAULT_RETRY, () => 0)).toEqual({
      retry: false,
    });
    expect(
      retryDecision(
        err('RATE_LIMITED', 300),
        1,
        { ...DEFAULT_RETRY, maxRetryAfterMs: 600_000 },
        () => 0,
      ),
    ).toEqual({ retry: true, delayMs: 300_000 });
  });

  it('reconnects with the same backoff', () => {
    expect(reconnectDelay(1, DEFAULT_RETRY, () => 0)).toBe(50);
    expect(reconnectDelay(30, DEFAULT_RETRY, () => 0.999)).toBe(4_998); // capped at 5 s
  });
});

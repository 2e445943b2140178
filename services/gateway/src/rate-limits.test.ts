import { describe, expect, it } from 'vitest';
import { lockoutMs, rateLimited, retryAfterSeconds } from './rate-limits.js';

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

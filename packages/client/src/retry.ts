import type { ConversaError } from './errors.js';

/** How a send retries. Delays in ms. */
export interface RetryPolicy {
  /** Attempts in all, the first included (8). */
  maxAttempts: number;
  /** Delay before the first retry (100 ms); doubles each time… */
  baseDelayMs: number;
  /** …up to this (5 s). */
  maxDelayMs: number;
  /**
   * The longest RATE_LIMITED retryAfter that is waited out (60 s). A rate limit's wait is a
   * second or two; a room's slow mode may ask for minutes: that refusal is thrown at once,
   * with its retryAfter, for the caller to decide.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY = {
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
} as const satisfies Required<RetryPolicy>;

/**
 * Whether an attempt that failed with this error may be tried again with the same request.
 * Only for failures where the outcome is unknown or transient: the network, a timeout, a
 * server-side failure (the gateway says retrying is safe), a rate limit, a saturated write
 * path (UNAVAILABLE, after its retryAfter), an unknown outcome (OUTCOME_UNKNOWN). A refusal
 * (FORBIDDEN, BAD_USER_INPUT, …) would be refused again.
 */
export function isRetryable(e: ConversaError): boolean {
  switch (e.code) {
    case 'NETWORK_ERROR':
    case 'TIMEOUT':
    case 'INTERNAL_SERVER_ERROR':
    case 'RATE_LIMITED':
    case 'UNAVAILABLE': // refused by a saturated write path: certainly not done
    case 'OUTCOME_UNKNOWN': // maybe done: the same clientMsgId returns the stored message
      return true;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'NOT_FOUND':
    case 'BAD_USER_INPUT':
    case 'CONFLICT':
      return false;
  }
}

export type RetryDecision = { retry: false } | { retry: true; delayMs: number };

/**
 * What to do after failed attempt number `attempt` (1-based): give up, or wait and try again.
 * Exponential backoff with full jitter (`random` in [0, 1)), never shorter than a rate limit's
 * retryAfter; a retryAfter beyond `maxRetryAfterMs` (slow mode) gives up at once. Pure.
 */
export function retryDecision(
  e: ConversaError,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): RetryDecision {
  if (!isRetryable(e) || attempt >= policy.maxAttempts) return { retry: false };
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  const floor = (e.code === 'RATE_LIMITED' || e.code === 'UNAVAILABLE') && e.retryAfter !== undefined ? e.retryAfter * 1_000 : 0;
  if (floor > (policy.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs)) return { retry: false };
  return { retry: true, delayMs: Math.max(jittered, floor) };
}

/** The delay before reconnect attempt `attempt` (1-based) of a live connection, ms (same backoff). */
export function reconnectDelay(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

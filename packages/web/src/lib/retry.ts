import { ApiError } from './errors.js';

/** Waits the composer sits out by itself; a longer one (a slow mode of minutes) marks the message "not sent", ms (60 s). */
export const MAX_AUTO_WAIT_MS = 60_000;
/**
 * Answers a send waits out and repeats with its clientMsgId: a rate limit or a saturated write
 * path (certainly not done; `retryAfter` says when), or an unknown outcome (maybe done: the
 * repeat returns the stored message if so). The message shows "sending…" meanwhile.
 */
const WAIT_AND_RETRY = new Set<string>(['RATE_LIMITED', 'UNAVAILABLE', 'OUTCOME_UNKNOWN']);
/** Such answers one send waits out before it is marked "not sent". */
export const MAX_RATE_LIMITED_RETRIES = 10;

export interface RateLimitRetry {
  /** Waits, ms (setTimeout in the page; a fake in tests). */
  sleep: (ms: number) => Promise<void>;
  /** Told before each wait, ms: the message shows that it waits, and why. */
  onWait?: (ms: number, e: ApiError) => void;
  maxWaitMs?: number;
  maxRetries?: number;
}

/**
 * Runs `attempt` (one send, its clientMsgId fixed, so that a repeat is the same message) and,
 * while the gateway answers RATE_LIMITED, UNAVAILABLE or OUTCOME_UNKNOWN, waits its `retryAfter` and tries again: a burst of
 * typed or pasted lines goes out in order at the pace the server allows, instead of failing.
 * Any other error, a wait beyond `maxWaitMs` or more than `maxRetries` waits is thrown.
 */
export async function retryRateLimited<T>(
  attempt: () => Promise<T>,
  opts: RateLimitRetry,
): Promise<T> {
  const maxWaitMs = opts.maxWaitMs ?? MAX_AUTO_WAIT_MS;
  const maxRetries = opts.maxRetries ?? MAX_RATE_LIMITED_RETRIES;
  for (let retries = 0; ; retries++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof ApiError) || !WAIT_AND_RETRY.has(e.code) || retries >= maxRetries) throw e;
      const waitMs = Math.max(1, e.retryAfter ?? 1) * 1_000;
      if (waitMs > maxWaitMs) throw e;
      opts.onWait?.(waitMs, e);
      await opts.sleep(waitMs);
    }
  }
}

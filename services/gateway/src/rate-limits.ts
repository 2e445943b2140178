import { AppError, ErrorCode } from '@conversa/contracts';

/**
 * Rate limits and login lockouts: what the resolvers and the WebSocket path ask, whatever
 * stores the counters (Redis, shared by every gateway: adapters/rate-limit.ts).
 */

/** What is counted per user (send, typing, subscribe, join) or per address (auth). */
export type LimitedAction = 'send' | 'typing' | 'subscribe' | 'join' | 'auth';

export interface RateLimiter {
  /** Counts one attempt of `subject` (a user id or an address); throws RATE_LIMITED when over. */
  hit(action: LimitedAction, subject: string): Promise<void>;
}

/** Growing lockout after failed logins, per username and per address. */
export interface LoginGuard {
  /** Throws RATE_LIMITED while the username or the address is locked out. */
  check(username: string, address: string): Promise<void>;
  /** Records a failed login for both; the lockout grows with each failure past the free ones. */
  failed(username: string, address: string): Promise<void>;
  /** Forgets the username's failures (the address keeps its count: it may be guessing many names). */
  succeeded(username: string): Promise<void>;
}

/** Whole seconds a client should wait: at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1_000));
}

/** RATE_LIMITED with `extensions.retryAfter` (seconds) once the gateway formats it. */
export function rateLimited(message: string, retryAfterMs: number): AppError {
  const retryAfter = retryAfterSeconds(retryAfterMs);
  return new AppError(ErrorCode.RATE_LIMITED, `${message}; retry in ${retryAfter} s`, { details: { retryAfter } });
}

/**
 * The lockout after `failures` failed logins: none for the first `free` ones, then `baseMs`,
 * doubling with each further failure, at most `maxMs`. (The Redis script computes the same.)
 */
export function lockoutMs(failures: number, free: number, baseMs: number, maxMs: number): number {
  if (failures <= free) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - free - 1, 40));
}

/** What each limited action is called in error messages. */
export const ACTION_WORDS: Record<LimitedAction, string> = {
  send: 'too many messages',
  typing: 'too many typing signals',
  subscribe: 'too many subscriptions started',
  join: 'too many rooms joined',
  auth: 'too many sign-in attempts from this address',
};

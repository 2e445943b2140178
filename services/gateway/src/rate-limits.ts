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

/**
 * One person's sends into one room: a token bucket (`burst` sends, refilled at `refillPerMs`)
 * and, when the room has slow mode, a minimum interval between two of their messages. The
 * Redis script in adapters/rate-limit.ts computes exactly this, atomically, for every gateway.
 */
export interface RoomSendRule {
  /** Sends a full bucket holds: a burst this long goes through at once. */
  burst: number;
  /** Tokens refilled per ms (1 / 1_000: one send a second sustained). */
  refillPerMs: number;
}

/** A (person, room) bucket as stored: tokens left at `at`, and the last send let through. */
export interface RoomSendState {
  tokens: number;
  /** When `tokens` was computed, ms. */
  at: number;
  /** When the last admitted send was let through, ms; and its clientMsgId. */
  lastAt: number | null;
  lastClientMsgId: string | null;
}

/** Why a send into a room must wait, and how long, ms. */
export interface RoomSendRefused {
  ok: false;
  /** burst: the bucket is empty; slow-mode: the room's interval since the last message is not over. */
  reason: 'burst' | 'slow-mode';
  waitMs: number;
}

export type RoomSendVerdict = { ok: true; state: RoomSendState } | RoomSendRefused;

/**
 * Whether a send (`clientMsgId`) into the room may go now, and the bucket after it. Pure.
 * - The same clientMsgId as the last send let through is a retry of it (the answer was lost):
 *   it goes again without paying, and the chat worker answers it with the stored message.
 * - Slow mode (`slowModeMs` > 0, never for admins): refused until `slowModeMs` after the last
 *   send let through, with the time left; computed from the current setting, so lowering it
 *   takes effect at once.
 * - Otherwise one token, or refused with the time until the next token.
 * A refusal changes nothing: a client that retries after the wait is not charged for waiting.
 */
export function takeRoomSend(
  prev: RoomSendState | null,
  now: number,
  rule: RoomSendRule,
  slowModeMs: number,
  clientMsgId: string,
): RoomSendVerdict {
  const elapsed = prev ? Math.max(0, now - prev.at) : 0;
  const tokens = prev ? Math.min(rule.burst, prev.tokens + elapsed * rule.refillPerMs) : rule.burst;
  const refilled: RoomSendState = { tokens, at: now, lastAt: prev?.lastAt ?? null, lastClientMsgId: prev?.lastClientMsgId ?? null };
  if (prev && prev.lastClientMsgId === clientMsgId) return { ok: true, state: refilled };
  if (slowModeMs > 0 && refilled.lastAt !== null && refilled.lastAt + slowModeMs > now) {
    return { ok: false, reason: 'slow-mode', waitMs: refilled.lastAt + slowModeMs - now };
  }
  if (tokens < 1) return { ok: false, reason: 'burst', waitMs: Math.ceil((1 - tokens) / rule.refillPerMs) };
  return { ok: true, state: { tokens: tokens - 1, at: now, lastAt: now, lastClientMsgId: clientMsgId } };
}

/** How long a (person, room) bucket must be kept: until it is full again, or the slow mode is over, ms. */
export function roomSendTtlMs(rule: RoomSendRule, slowModeMs: number): number {
  return Math.max(Math.ceil(rule.burst / rule.refillPerMs), slowModeMs, 1);
}

/** Sends of one person into one room (token bucket and slow mode), shared by every gateway. */
export interface RoomSendLimiter {
  /**
   * Admits one send (null) or says how long to wait. `slowModeMs`: the room's slow mode (0: none;
   * the caller passes 0 for admins). Fails open (admits) when the store of the buckets is away.
   */
  take(user: string, room: string, clientMsgId: string, slowModeMs: number): Promise<RoomSendRefused | null>;
}

/** RATE_LIMITED for a refused room send, in words a person can act on. */
export function roomSendRefusal(v: RoomSendRefused, slowModeSeconds: number): AppError {
  return v.reason === 'slow-mode'
    ? rateLimited(`slow mode: one message every ${slowModeSeconds} s in this room`, v.waitMs)
    : rateLimited('too many messages in this room', v.waitMs);
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

import { ErrorCode as ServerCode } from '@conversa/contracts/errors';

/**
 * The error codes of the public API (extensions.code, `ErrorCode` of @conversa/contracts:
 * never re-listed here), plus NETWORK for a request that got no answer.
 */
export type ErrorCode = ServerCode | 'NETWORK';

const KNOWN = new Set<string>(Object.values(ServerCode));

/** An error the API (or the network) answered, with its stable code and the server's message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: ErrorCode,
    /** Seconds the server asks to wait before trying again (RATE_LIMITED). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface GraphQLErrorLike {
  message?: unknown;
  extensions?: { code?: unknown; retryAfter?: unknown } | null;
}

/** The first error of a GraphQL response as an ApiError (unknown codes count as internal). */
export function toApiError(errors: readonly GraphQLErrorLike[]): ApiError {
  const e = errors[0];
  const code =
    typeof e?.extensions?.code === 'string' && KNOWN.has(e.extensions.code)
      ? (e.extensions.code as ErrorCode)
      : 'INTERNAL_SERVER_ERROR';
  const message = typeof e?.message === 'string' && e.message ? e.message : 'something went wrong';
  const retryAfter = e?.extensions?.retryAfter;
  return typeof retryAfter === 'number'
    ? new ApiError(message, code, retryAfter)
    : new ApiError(message, code);
}

/** A sentence for a person, from any error. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'NETWORK':
        return 'Cannot reach conversa. Check your connection and try again.';
      case 'RATE_LIMITED':
        return `Slow down a little: ${e.message}`;
      case 'UNAVAILABLE':
        return 'conversa is very busy right now and did nothing: try again in a moment.';
      case 'OUTCOME_UNKNOWN':
        return 'Still sending… conversa is slow to answer; sending again will not duplicate it.';
      case 'INTERNAL_SERVER_ERROR':
        return 'Something went wrong on our side. Please try again.';
      case 'UNAUTHENTICATED':
      case 'FORBIDDEN':
      case 'NOT_FOUND':
      case 'BAD_USER_INPUT':
      case 'CONFLICT':
        return capitalize(e.message);
    }
  }
  return 'Something went wrong. Please try again.';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

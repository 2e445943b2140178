import { ErrorCode } from '@conversa/contracts/errors';

/**
 * The codes the gateway puts in `extensions.code`: `ErrorCode` of @conversa/contracts (its
 * browser-safe `errors` entry), never re-listed here.
 */
export type ServerCode = ErrorCode;
export const SERVER_CODES: readonly ServerCode[] = Object.freeze(Object.values(ErrorCode));

/**
 * Every code a ConversaError can carry: the server's, plus the two the client gives to
 * failures that never reached an answer.
 */
export type ConversaErrorCode = ServerCode | 'NETWORK_ERROR' | 'TIMEOUT';

/** An error with a stable code: switch on `.code`, show `.message` to a person. */
export class ConversaError extends Error {
  override readonly name = 'ConversaError';
  constructor(
    readonly code: ConversaErrorCode,
    message: string,
    /** Seconds the server asked to wait before retrying (RATE_LIMITED). */
    readonly retryAfter?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface FormattedError {
  message?: unknown;
  extensions?: { code?: unknown; retryAfter?: unknown } | null;
}

const isServerCode = (c: unknown): c is ServerCode =>
  typeof c === 'string' && (SERVER_CODES as readonly string[]).includes(c);

/** The first GraphQL error of a response as a ConversaError (an unknown code counts as internal). */
export function fromGraphQLErrors(errors: readonly FormattedError[]): ConversaError {
  const first = errors[0] ?? {};
  const code = first.extensions?.code;
  const retryAfter = first.extensions?.retryAfter;
  return new ConversaError(
    isServerCode(code) ? code : 'INTERNAL_SERVER_ERROR',
    typeof first.message === 'string' ? first.message : 'the server refused the request',
    typeof retryAfter === 'number' ? retryAfter : undefined,
  );
}

/** Wraps anything thrown while talking to the server (fetch failures, aborts) in a ConversaError. */
export function toConversaError(e: unknown): ConversaError {
  if (e instanceof ConversaError) return e;
  const name = e instanceof Error ? e.name : '';
  if (name === 'TimeoutError' || name === 'AbortError')
    return new ConversaError('TIMEOUT', 'the server did not answer in time', undefined, {
      cause: e,
    });
  return new ConversaError(
    'NETWORK_ERROR',
    `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`,
    undefined,
    { cause: e },
  );
}

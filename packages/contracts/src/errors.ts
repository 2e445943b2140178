/**
 * The stable error codes of conversa. Services raise {@link AppError}s with one of these;
 * only the gateway maps them to GraphQL `extensions.code`.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * Refused before anything was done, because the write path is saturated: certainly not
   * executed; `retryAfter` (seconds) says when to try again.
   */
  UNAVAILABLE: 'UNAVAILABLE',
  /**
   * Accepted, but not finished within the deadline: it may still be done. Retrying with the same
   * `clientMsgId` is safe and returns the stored message if it was.
   */
  OUTCOME_UNKNOWN: 'OUTCOME_UNKNOWN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error whose code decides how it is reported; its message is safe to show to the caller. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }
}

export const badInput = (message: string, details?: Record<string, unknown>): AppError =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, details ? { details } : undefined);
export const notFound = (message: string): AppError => new AppError(ErrorCode.NOT_FOUND, message);
export const forbidden = (message: string): AppError => new AppError(ErrorCode.FORBIDDEN, message);
export const conflict = (message: string): AppError => new AppError(ErrorCode.CONFLICT, message);
export const unauthenticated = (message: string): AppError =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

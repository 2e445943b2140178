import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, isAppError } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';

/** Codes graphql-js and Apollo give to malformed requests: all of them are the caller's input. */
const INPUT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);
const PUBLIC_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * The one place that turns errors into what a caller sees: a stable `extensions.code` and a
 * message a person can act on; no stack traces or internals leave the gateway.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  // An AppError thrown from a subscription's stream (or a WebSocket refusal) arrives wrapped
  // in a GraphQLError without a path: unwrap it too, so that its code is kept.
  const original = unwrapped instanceof GraphQLError && isAppError(unwrapped.originalError) ? unwrapped.originalError : unwrapped;
  const base = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (isAppError(original)) {
    const retryAfter = original.details?.retryAfter;
    return {
      ...base,
      message: original.message,
      extensions: { code: original.code, ...(typeof retryAfter === 'number' ? { retryAfter } : {}) },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && INPUT_CODES.has(code)) {
    return { ...base, message: formatted.message, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: code } };
  }
  if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    return { ...base, message: formatted.message, extensions: { code } };
  }
  if (!(original instanceof GraphQLError) || original.originalError) {
    logger.error({ err: original }, 'unexpected error');
  } else if (!code || (code === ErrorCode.INTERNAL_SERVER_ERROR && original.extensions.code === undefined && !formatted.path)) {
    // A plain GraphQLError without a code is a request problem graphql-js found (e.g. validation),
    // or one Apollo raised about the request before anything ran (a persisted query of another
    // version, or whose sha256Hash is not its query's): Apollo gives those its default code,
    // INTERNAL_SERVER_ERROR, so that the error's own code (none) and path (none) tell.
    return { ...base, message: formatted.message, extensions: { code: ErrorCode.BAD_USER_INPUT } };
  }
  return { ...base, message: 'internal error; the team has been told', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}

/**
 * Production hides the schema from people who probe it: graphql-js' "Did you mean …?"
 * suggestions are cut from messages (the same pattern Apollo's hideSchemaDetailsFromClientErrors
 * uses), on HTTP and on WebSocket alike.
 */
export function hideSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const message = formatted.message.replace(/ ?Did you mean(.+?)\?$/, '');
  return message === formatted.message ? formatted : { ...formatted, message };
}

/** An error of any kind as a GraphQLError (formatError unwraps it again and keeps its code). */
export const asGraphQLError = (e: unknown): GraphQLError =>
  e instanceof GraphQLError ? e : new GraphQLError(e instanceof Error ? e.message : String(e), { originalError: e instanceof Error ? e : null });

/** The gateway's error formatting, for Apollo (HTTP) and the WebSocket path alike. */
export interface ErrorFormatter {
  /** Apollo's `formatError`: one formatted error. */
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Errors of an `error` frame. */
  readonly formatErrors: (errors: readonly GraphQLError[]) => GraphQLFormattedError[];
  /** A `next` payload: a result with its errors formatted (a result without errors as it is). */
  readonly formatResult: (result: ExecutionResult) => FormattedExecutionResult | ExecutionResult;
}

/** Production also hides graphql-js' suggestions (no schema discovery by typos). */
export function createErrorFormatter(opts: { production: boolean; logger: Logger }): ErrorFormatter {
  const format = (f: GraphQLFormattedError, e: unknown): GraphQLFormattedError => {
    const out = formatError(f, e, opts.logger);
    return opts.production ? hideSuggestions(out) : out;
  };
  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((e) => format(e.toJSON(), e));
  return {
    format,
    formatErrors,
    formatResult: (r) => (r.errors?.length ? { ...(r.data !== undefined ? { data: r.data } : {}), errors: formatErrors(r.errors) } : r),
  };
}

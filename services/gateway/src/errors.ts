import { GraphQLError, type GraphQLFormattedError } from 'graphql';
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
  const original = unwrapResolverError(error);
  const base = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (isAppError(original)) {
    return { ...base, message: original.message, extensions: { code: original.code } };
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
  } else if (!code) {
    // A plain GraphQLError without a code is a request problem graphql-js found (e.g. validation).
    return { ...base, message: formatted.message, extensions: { code: ErrorCode.BAD_USER_INPUT } };
  }
  return { ...base, message: 'internal error; the team has been told', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}

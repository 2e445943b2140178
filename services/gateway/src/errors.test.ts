import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '@conversa/contracts';
import { asGraphQLError, createErrorFormatter, formatError, hideSuggestions } from './errors.js';
import { rateLimited } from './rate-limits.js';

const logger = pino({ level: 'silent' });
const format = (e: GraphQLError) => formatError(e.toJSON(), e, logger);

describe('formatError', () => {
  it('keeps the code of an AppError wrapped by graphql-ws (subscription streams, socket refusals)', () => {
    const wrapped = new GraphQLError('room: you are muted in this room', { originalError: new AppError(ErrorCode.FORBIDDEN, 'room: you are muted in this room') });
    expect(format(wrapped)).toEqual({ message: 'room: you are muted in this room', extensions: { code: 'FORBIDDEN' } });
  });
  it('carries retryAfter (seconds) with RATE_LIMITED', () => {
    const e = new GraphQLError('x', { originalError: rateLimited('too many messages', 1_500) });
    expect(format(e)).toEqual({ message: 'too many messages; retry in 2 s', extensions: { code: 'RATE_LIMITED', retryAfter: 2 } });
  });
  it('reports request errors graphql-js or Apollo found as BAD_USER_INPUT, with the reason', () => {
    const e = new GraphQLError('the operation is too deep: depth 32, at most 15 allowed', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format(e).extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
  });
});

describe('formatError: what the fuzz run found (issue 17)', () => {
  // Apollo's own refusals of a persisted query carry no code; Apollo fills in its default,
  // INTERNAL_SERVER_ERROR, before formatError sees them. They are the caller's input.
  const apollo = (e: GraphQLError) => formatError({ ...e.toJSON(), extensions: { code: 'INTERNAL_SERVER_ERROR' } }, e, logger);
  it('reports "Unsupported persisted query version" as BAD_USER_INPUT, not INTERNAL_SERVER_ERROR', () => {
    const e = new GraphQLError('Unsupported persisted query version', { extensions: { http: { status: 400 } } });
    expect(apollo(e)).toEqual({ message: 'Unsupported persisted query version', extensions: { code: 'BAD_USER_INPUT' } });
  });
  it('reports "provided sha does not match query" as BAD_USER_INPUT', () => {
    const e = new GraphQLError('provided sha does not match query', { extensions: { http: { status: 400 } } });
    expect(apollo(e).extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });
  it('still reports a failure inside a resolver (an error with a path) as INTERNAL_SERVER_ERROR', () => {
    const e = new GraphQLError('Cannot return null for non-nullable field Query.x.', { path: ['x'], originalError: new Error('boom') });
    expect(formatError({ ...e.toJSON(), extensions: { code: 'INTERNAL_SERVER_ERROR' } }, e, logger).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    const plain = new GraphQLError('thrown by a resolver', { path: ['x'] });
    expect(apollo(plain).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });
});

describe('hideSuggestions', () => {
  it('cuts "Did you mean …?" and leaves other messages alone', () => {
    expect(hideSuggestions({ message: 'Cannot query field "usernam" on type "User". Did you mean "username"?' }).message).toBe('Cannot query field "usernam" on type "User".');
    const plain = { message: 'Syntax Error: Unexpected Name "x".' };
    expect(hideSuggestions(plain)).toBe(plain);
  });
});

describe('createErrorFormatter', () => {
  it('formats a result with errors and leaves one without as it is', () => {
    const f = createErrorFormatter({ production: false, logger });
    const ok = { data: { me: null } };
    expect(f.formatResult(ok)).toBe(ok);
    const failed = f.formatResult({ data: null, errors: [new GraphQLError('x', { originalError: new AppError(ErrorCode.NOT_FOUND, 'room: no room "r"') })] });
    expect(failed).toEqual({ data: null, errors: [{ message: 'room: no room "r"', extensions: { code: 'NOT_FOUND' } }] });
  });
  it('hides suggestions in production only', () => {
    const e = new GraphQLError('Cannot query field "mee" on type "Query". Did you mean "me"?', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(createErrorFormatter({ production: true, logger }).formatErrors([e])[0]?.message).toBe('Cannot query field "mee" on type "Query".');
    expect(createErrorFormatter({ production: false, logger }).formatErrors([e])[0]?.message).toContain('Did you mean');
  });
  it('wraps anything thrown as a GraphQLError that keeps the original', () => {
    const app = new AppError(ErrorCode.FORBIDDEN, 'no');
    expect(asGraphQLError(app).originalError).toBe(app);
    const g = new GraphQLError('g');
    expect(asGraphQLError(g)).toBe(g);
  });
});

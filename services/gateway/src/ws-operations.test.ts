import { readFileSync } from 'node:fs';
import { NoSchemaIntrospectionCustomRule, buildSchema, specifiedRules, type DocumentNode, type GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { describe, expect, it } from 'vitest';
import { queryLimitRules } from './query-limits.js';
import { withSafeSubscriptionRule } from './subscription-document.js';
import { prepareOperation, subscribedRoom, type PreparedOperation } from './ws-operations.js';

const schema = buildSchema(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));
const opts = {
  schema,
  rules: [...withSafeSubscriptionRule(specifiedRules), ...queryLimitRules({ maxDepth: 15, maxAliases: 30, maxRootFields: 20, maxCost: 5_000 }), NoSchemaIntrospectionCustomRule],
  maxTokens: 1_000,
};
const errors = (r: PreparedOperation | GraphQLError[]) => (Array.isArray(r) ? r.map((e) => [e.extensions.code, e.message]) : []);
const ok = (r: PreparedOperation | GraphQLError[]): PreparedOperation => {
  if (Array.isArray(r)) throw new Error(r.map((e) => e.message).join('; '));
  return r;
};

describe('prepareOperation', () => {
  it('parses and validates a query text once when given a cache', () => {
    const cache = new LRUCache<string, DocumentNode>({ max: 10 });
    const payload = { query: 'subscription($room: ID!) { typing(room: $room) { room } }', variables: { room: 'r' } };
    const first = ok(prepareOperation({ ...opts, cache }, payload));
    const second = ok(prepareOperation({ ...opts, cache }, { ...payload, variables: { room: 's' } }));
    expect(second.document).toBe(first.document);
    // Variables are still checked per subscribe; refused documents are not cached.
    expect(errors(prepareOperation({ ...opts, cache }, { ...payload, variables: { room: { $ne: null } } }))[0]?.[0]).toBe('BAD_USER_INPUT');
    expect(errors(prepareOperation({ ...opts, cache }, { query: '{ nope }' }))[0]?.[0]).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(cache.size).toBe(1);
  });
  it('parses, validates and picks the operation', () => {
    const p = ok(prepareOperation(opts, { query: 'query A { me { id } } subscription B { typing(room: "r") { room } }', operationName: 'B' }));
    expect(p.operation.operation).toBe('subscription');
  });
  it('refuses what Apollo refuses on HTTP, with the same codes', () => {
    expect(errors(prepareOperation(opts, { query: '{ me { id' }))[0]?.[0]).toBe('GRAPHQL_PARSE_FAILED');
    expect(errors(prepareOperation(opts, { query: `{ me { ${'id '.repeat(1_200)} } }` }))[0]?.[1]).toMatch(/more that 1000 tokens/);
    expect(errors(prepareOperation(opts, { query: '{ __schema { queryType { name } } }' }))[0]).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
      expect.stringMatching(/introspection has been disabled/),
    ]);
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ');
    expect(errors(prepareOperation(opts, { query: `{ ${aliases} }` }))).toContainEqual(['GRAPHQL_VALIDATION_FAILED', expect.stringMatching(/too many aliases/)]);
    expect(errors(prepareOperation(opts, { query: 'query A { me { id } } query B { me { id } }' }))[0]?.[0]).toBe('OPERATION_RESOLUTION_FAILURE');
    // A Mongo operator where the schema wants an ID: refused as the caller's input.
    const operator = errors(prepareOperation(opts, { query: 'query($r: ID!) { room(id: $r) { id } }', variables: { r: { $ne: null } } }));
    expect(operator).toEqual([['BAD_USER_INPUT', expect.stringMatching(/^Variable "\$r" got invalid value/)]]);
  });
});

describe('subscribedRoom', () => {
  const room = (query: string, variables?: Record<string, unknown>) => {
    const p = ok(prepareOperation(opts, { query, variables }));
    return p.subscription ? subscribedRoom(p.subscription) : null;
  };
  it('reads the root field’s room argument, literal or variable, through fragments', () => {
    expect(room('subscription { messageAdded(room: "lobby") { id } }')).toBe('lobby');
    expect(room('subscription($r: ID!) { typing(room: $r) { room } }', { r: 'kitchen' })).toBe('kitchen');
    expect(room('subscription { ...S } fragment S on Subscription { messageUpdated(room: "x") { id } }')).toBe('x');
    expect(room('subscription($r: ID!) { ... on Subscription { m: messageAdded(room: $r) { seq body } } }', { r: 'inline' })).toBe('inline');
    // Coerced as execution coerces it: an ID given as a number is the string.
    expect(room('subscription($r: ID!) { typing(room: $r) { room } }', { r: 7 })).toBe('7');
  });
  it('refuses two root fields (two aliases of one field) and @skip/@include at the top, with clear errors', () => {
    const two = errors(prepareOperation(opts, { query: 'subscription { a: messageAdded(room: "r") { id } b: messageAdded(room: "r") { seq } }' }));
    expect(two).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Anonymous Subscription must select only one top level field.']]);
    // graphql-js 16's own rule throws out of validate on this one (a 4500 close before).
    const skip = errors(
      prepareOperation(opts, { query: 'subscription S($x: Boolean!) { messageAdded(room: "r") @include(if: $x) { id } }', variables: { x: true } }),
    );
    expect(skip).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Subscription "S" must not use `@skip` or `@include` directives in the top level selection.']]);
  });
  it('is null for queries and mutations', () => {
    expect(room('{ messages(room: "lobby") { hasMore } }')).toBeNull();
  });
});

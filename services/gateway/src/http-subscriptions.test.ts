import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorFormatter } from './errors.js';
import type { GatewayContext } from './context.js';
import { handleGraphQLHttp } from './http.js';
import { refusalOverHttp, refuseSubscriptionsOverHttp, SUBSCRIPTION_OVER_HTTP } from './http-subscriptions.js';

// A real Apollo Server (no HTTP listener: executeHTTPGraphQLRequest, as http.ts calls it).
const schema = makeExecutableSchema({
  typeDefs: 'type Query { ok: Boolean! } type Subscription { ticks(room: ID!): Int! }',
  resolvers: { Query: { ok: () => true }, Subscription: { ticks: { subscribe: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined) }) }) } } },
});
const errors = createErrorFormatter({ production: true, logger: pino({ level: 'silent' }) });

describe('refuseSubscriptionsOverHttp (issue 17: found by the fuzz run)', () => {
  const apollo = new ApolloServer({ schema, formatError: errors.format, plugins: [refuseSubscriptionsOverHttp()] });
  beforeAll(() => apollo.start());
  afterAll(() => apollo.stop());

  const post = async (body: unknown) => {
    const headers = new (await import('@apollo/server')).HeaderMap([['content-type', 'application/json']]);
    const r = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: 'POST', headers, search: '', body }, context: () => Promise.resolve({}) });
    return { status: r.status ?? 200, json: JSON.parse(r.body.kind === 'complete' ? r.body.string : '') as { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] } };
  };

  it('answers a subscription over HTTP POST with 400 BAD_USER_INPUT naming the WebSocket path, not INTERNAL_SERVER_ERROR', async () => {
    const r = await post({ query: 'subscription { ticks(room: "r") }' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([{ message: SUBSCRIPTION_OVER_HTTP, extensions: { code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' } }]);
    expect(r.json.data).toBeUndefined();
  });
  it('lets queries through', async () => {
    const r = await post({ query: '{ ok }' });
    expect(r).toEqual({ status: 200, json: { data: { ok: true } } });
  });
});

describe('subscriptions over HTTP, through the gateway\'s HTTP handler (a real server)', () => {
  const apollo = new ApolloServer<GatewayContext>({ schema, formatError: errors.format, csrfPrevention: true, plugins: [refuseSubscriptionsOverHttp<GatewayContext>()] });
  let server: Server;
  let url: string;
  beforeAll(async () => {
    await apollo.start();
    server = createServer((req, res) => void handleGraphQLHttp(apollo, req, res, () => Promise.resolve({} as GatewayContext), { maxTokens: 2_000 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await apollo.stop();
  });
  const post = async (body: unknown) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) };
  };

  it('refuses a subscription with @skip on its root field with 400 BAD_USER_INPUT (Apollo answered 500)', async () => {
    const r = await post({ query: 'subscription($s: Boolean!) { ticks(room: "r") @skip(if: $s) }', variables: { s: true } });
    expect(r).toEqual({ status: 400, json: { errors: [{ message: SUBSCRIPTION_OVER_HTTP, extensions: { code: 'BAD_USER_INPUT' } }] } });
  });
  it('refuses it over GET too (Apollo validated it first and answered 500)', async () => {
    const q = new URLSearchParams({ query: 'subscription { ticks(room: "r") @include(if: true) }' });
    const r = await fetch(`${url}?${q.toString()}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(r.status).toBe(400);
  });
  it('refuses a query beside a subscription with @skip at its top level with 400, as the WebSocket path does (Apollo answered 500)', async () => {
    const r = await post({ query: 'query Q { ok } subscription S($s: Boolean!) { ... on Subscription { ticks(room: "r") @skip(if: $s) } }', operationName: 'Q' });
    expect(r).toEqual({
      status: 400,
      json: { errors: [{ message: 'Subscription "S" must not use `@skip` or `@include` directives in the top level selection.', extensions: { code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' } }] },
    });
  });
  it('picks the operation by operationName: a query beside a subscription still runs', async () => {
    const r = await post({ query: 'query Q { ok } subscription S { ticks(room: "r") }', operationName: 'Q' });
    expect(r).toEqual({ status: 200, json: { data: { ok: true } } });
  });
});

describe('refusalOverHttp', () => {
  it('refuses a document whose selected operation is a subscription (BAD_REQUEST), and leaves others and unparsable ones to Apollo', () => {
    expect(refusalOverHttp('subscription { a }', undefined, 100)?.reason).toBe('BAD_REQUEST');
    expect(refusalOverHttp('{ subscription }', undefined, 100)).toBeNull();
    expect(refusalOverHttp('subscription {', undefined, 100)).toBeNull(); // Apollo reports the syntax error
    expect(refusalOverHttp('query A { a } subscription B { b }', 'A', 100)).toBeNull();
    expect(refusalOverHttp('query A { a } subscription B { b }', 'B', 100)?.reason).toBe('BAD_REQUEST');
    expect(refusalOverHttp(42, undefined, 100)).toBeNull();
    expect(refusalOverHttp(`subscription { ${'a '.repeat(200)} }`, undefined, 100)).toBeNull(); // over the token cap: left to Apollo
  });
});

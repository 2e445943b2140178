import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { collect, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

/**
 * Issue 14 point 1 through the real gateway over graphql-ws: several people in one room, each
 * subscribed with a different document (fragments, inline fragments, aliases, @include), each
 * receives exactly the selection it asked for, whatever the fan-out shares between them.
 */
describe('every subscription document answered with its own selection (gateway, chat, audit as processes)', () => {
  let sys: System;
  let http: string;
  let ws: string;
  let alice: Session;
  let bob: Session;
  const clients: Client[] = [];
  const closes: { code: number; reason: string }[] = [];
  const tag = randomUUID().slice(0, 6);
  const roomName = `Docs ${tag}`;
  let room: string;

  const socket = (s: Session): Client => {
    const c = wsClient(ws, s.token, (code, reason) => closes.push({ code, reason }));
    clients.push(c);
    return c;
  };

  /** The errors a refused subscribe is answered with. */
  const refusal = (client: Client, query: string, variables: Record<string, unknown>) =>
    new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: (v) => reject(new Error(`expected a refusal, got ${JSON.stringify(v)}`)),
          error: (e) => resolve(e as { message: string }[]),
          complete: () => reject(new Error('expected a refusal, got complete')),
        },
      );
    });

  beforeAll(async () => {
    sys = await startSystem();
    http = sys.gateways[0]!.http;
    ws = sys.gateways[0]!.ws;
    [alice, bob] = await Promise.all([register(http, `alice_${tag}`, 'Alice'), register(http, `bob_${tag}`, 'Bob')]);
    const join = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
    room = (await gqlOk<{ joinRoom: { id: string } }>(http, join, { n: roomName }, alice.token)).joinRoom.id;
    await gqlOk(http, join, { n: roomName }, bob.token);
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('gives each of six subscribers of one room exactly its own selection', async () => {
    const [a, b] = [socket(alice), socket(bob)];
    const v = { r: room };
    // `after: 0` replays what was sent before the subscription took effect: nothing is lost.
    const subs = {
      fragmentA: collect<Record<string, unknown>>(a, 'subscription($r: ID!) { ...A } fragment A on Subscription { messageAdded(room: $r, after: 0) { id seq } }', v),
      fragmentB: collect<Record<string, unknown>>(
        b,
        'subscription($r: ID!) { ...B } fragment B on Subscription { messageAdded(room: $r, after: 0) { body author { displayName } } }',
        v,
      ),
      // Same selection as fragmentA under another fragment name (shares its group).
      fragmentSame: collect<Record<string, unknown>>(b, 'subscription($r: ID!) { ...Other } fragment Other on Subscription { messageAdded(room: $r, after: 0) { id seq } }', v),
      inline: collect<Record<string, unknown>>(a, 'subscription($r: ID!) { ... on Subscription { messageAdded(room: $r, after: 0) { seq body } } }', v),
      aliased: collect<Record<string, unknown>>(b, 'subscription($r: ID!) { m: messageAdded(room: $r, after: 0) { n: seq body } }', v),
      withBody: collect<Record<string, unknown>>(a, 'subscription($r: ID!, $b: Boolean!) { messageAdded(room: $r, after: 0) { seq body @include(if: $b) } }', { r: room, b: true }),
      withoutBody: collect<Record<string, unknown>>(b, 'subscription($r: ID!, $b: Boolean!) { messageAdded(room: $r, after: 0) { seq body @include(if: $b) } }', { r: room, b: false }),
    };

    const send = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';
    const sent: { id: string; seq: number }[] = [];
    for (const [i, who] of [alice, bob].entries()) {
      sent.push((await gqlOk<{ sendMessage: { id: string; seq: number } }>(http, send, { r: room, b: `hello ${i}`, c: `c-${i}` }, who.token)).sendMessage);
    }
    const got = Object.fromEntries(await Promise.all(Object.entries(subs).map(async ([k, s]) => [k, await s.until(2)] as const)));

    expect(got.fragmentA).toEqual(sent.map((m) => ({ messageAdded: { id: m.id, seq: m.seq } })));
    expect(got.fragmentSame).toEqual(got.fragmentA);
    expect(got.fragmentB).toEqual([
      { messageAdded: { body: 'hello 0', author: { displayName: 'Alice' } } },
      { messageAdded: { body: 'hello 1', author: { displayName: 'Bob' } } },
    ]);
    expect(got.inline).toEqual([
      { messageAdded: { seq: 1, body: 'hello 0' } },
      { messageAdded: { seq: 2, body: 'hello 1' } },
    ]);
    expect(got.aliased).toEqual([{ m: { n: 1, body: 'hello 0' } }, { m: { n: 2, body: 'hello 1' } }]);
    expect(got.withBody).toEqual([
      { messageAdded: { seq: 1, body: 'hello 0' } },
      { messageAdded: { seq: 2, body: 'hello 1' } },
    ]);
    expect(got.withoutBody).toEqual([{ messageAdded: { seq: 1 } }, { messageAdded: { seq: 2 } }]);
    for (const s of Object.values(subs)) expect(s.errors).toEqual([]);
    expect(closes).toEqual([]);
  });

  it('refuses two root fields and @include at the top with a clear error, and keeps the socket open', async () => {
    const c = socket(alice);
    const two = await refusal(c, 'subscription($r: ID!) { a: messageAdded(room: $r) { id } b: messageAdded(room: $r) { seq } }', { r: room });
    expect(two).toEqual([expect.objectContaining({ message: 'Anonymous Subscription must select only one top level field.', extensions: { code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' } })]);
    const top = await refusal(c, 'subscription S($r: ID!, $x: Boolean!) { messageAdded(room: $r) @include(if: $x) { id } }', { r: room, x: true });
    expect(top).toEqual([
      expect.objectContaining({
        message: 'Subscription "S" must not use `@skip` or `@include` directives in the top level selection.',
        extensions: { code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
    // The same socket still serves: a valid subscription after the refusals replays the room.
    const after = collect<Record<string, unknown>>(c, 'subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq } }', { r: room });
    expect(await after.until(2)).toEqual([{ messageAdded: { seq: 1 } }, { messageAdded: { seq: 2 } }]);
    expect(closes).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse } from 'graphql';
import { Repeater } from '@repeaterjs/repeater';
import { groupedSubscribe } from './fanout.js';

interface Ev {
  text: string;
}
let resolverCalls = 0;
/** A tiny schema whose source is driven by the test, and whose field counts executions. */
function setup() {
  const listeners = new Set<(e: Ev) => void>();
  const push = (e: Ev) => listeners.forEach((l) => l(e));
  const schema = makeExecutableSchema({
    typeDefs: 'type Query { x: Int } type Ev { text: String! shout: String! } type Subscription { ev(room: ID!, after: Int): Ev! }',
    resolvers: {
      Subscription: {
        ev: {
          subscribe: () =>
            new Repeater<Ev>(async (p, stop) => {
              const l = (e: Ev) => void p(e);
              listeners.add(l);
              await stop;
              listeners.delete(l);
            }),
          resolve: (e: Ev) => e,
        },
      },
      Ev: {
        shout: (e: Ev) => {
          resolverCalls++;
          return e.text.toUpperCase();
        },
      },
    },
  });
  return { schema, push: (e: Ev) => push(e) };
}

async function open(sub: ReturnType<typeof groupedSubscribe>, schema: ReturnType<typeof setup>['schema'], query: string, variables: Record<string, unknown>, role = 'USER') {
  const r = await sub({ schema, document: parse(query), variableValues: variables, contextValue: { role } });
  if (!(Symbol.asyncIterator in r)) throw new Error('not a stream');
  return r;
}

describe('groupedSubscribe', () => {
  it('executes once per event for subscribers with the same selection, whatever their root arguments', async () => {
    const { schema, push } = setup();
    const sub = groupedSubscribe((ctx) => (ctx as { role: string }).role);
    const q = 'subscription($room: ID!, $after: Int) { ev(room: $room, after: $after) { text shout } }';
    const streams = await Promise.all([0, 1, 2, 3].map((i) => open(sub, schema, q, { room: 'r', after: i })));
    const next = streams.map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    resolverCalls = 0;
    push({ text: 'hi' });
    const results = await Promise.all(next);
    expect(results.map((r) => r.value as unknown)).toEqual(Array(4).fill({ data: { ev: { text: 'hi', shout: 'HI' } } }));
    expect(resolverCalls).toBe(1);
    expect(sub.stats).toEqual({ executions: 1, served: 4 });
    await Promise.all(streams.map((s) => s.return(undefined)));
  });

  it('keeps separate groups for different selections and viewer classes', async () => {
    const { schema, push } = setup();
    const sub = groupedSubscribe((ctx) => (ctx as { role: string }).role);
    const a = await open(sub, schema, 'subscription { ev(room: "r") { text } }', {});
    const b = await open(sub, schema, 'subscription { ev(room: "r") { shout } }', {});
    const c = await open(sub, schema, 'subscription { ev(room: "r") { text } }', {}, 'ADMIN');
    const next = [a.next(), b.next(), c.next()];
    await new Promise((r) => setImmediate(r));
    push({ text: 'yo' });
    expect((await Promise.all(next)).map((r) => r.value as unknown)).toEqual([
      { data: { ev: { text: 'yo' } } },
      { data: { ev: { shout: 'YO' } } },
      { data: { ev: { text: 'yo' } } },
    ]);
    expect(sub.stats.executions).toBe(3);
    await Promise.all([a, b, c].map((s) => s.return(undefined)));
  });

  it('ends the source at once when the subscriber leaves, even with a next() pending', async () => {
    const { schema } = setup();
    const sub = groupedSubscribe(() => 'USER');
    const s = await open(sub, schema, 'subscription { ev(room: "r") { text } }', {});
    const pending = s.next();
    await s.return(undefined);
    await expect(pending).resolves.toMatchObject({ done: true });
  });
});

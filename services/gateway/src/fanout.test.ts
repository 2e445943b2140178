import { describe, expect, it } from 'vitest';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse, type GraphQLSchema } from 'graphql';
import { Repeater } from '@repeaterjs/repeater';
import { groupedSubscribe, isDirectStream, type FrameSink } from './fanout.js';
import { PER_VIEWER_DIRECTIVE_SDL } from './subscription-document.js';

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
        ev: { subscribe: fromListeners(listeners), resolve: (e: Ev) => e },
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


/** A subscribe resolver: each subscription gets every event pushed to `listeners` until it ends. */
function fromListeners<E>(listeners: Set<(e: E) => void>) {
  return () =>
    new Repeater<E>(async (push, stop) => {
      const l = (e: E) => void push(e);
      listeners.add(l);
      await stop;
      listeners.delete(l);
    });
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
    expect(sub.stats).toEqual({ executions: 1, served: 4, direct: 0 });
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

  it('writes one serialized payload to every attached socket, each under its own subscription id', async () => {
    const { schema, push } = setup();
    const serialized: string[] = [];
    const sub = groupedSubscribe({
      viewerClass: () => 'USER',
      serialize: (r) => {
        const json = JSON.stringify(r);
        serialized.push(json);
        return json;
      },
    });
    const q = 'subscription { ev(room: "r") { text shout } }';
    const sockets = [0, 1, 2].map(() => fakeSocket());
    const streams = await Promise.all(sockets.map(() => open(sub, schema, q, {})));
    streams.forEach((s, i) => {
      if (!isDirectStream(s)) throw new Error('not a direct stream');
      s.attach(`id-${i}`, sockets[i]!);
    });
    // graphql-ws pulls each stream; a direct stream only resolves when it ends.
    const pulls = streams.map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    resolverCalls = 0;
    push({ text: 'a' });
    push({ text: 'b' });
    await waitFor(() => sockets.every((s) => s.frames.length === 2));
    expect(sockets[1]!.frames).toEqual([
      '{"id":"id-1","type":"next","payload":{"data":{"ev":{"text":"a","shout":"A"}}}}',
      '{"id":"id-1","type":"next","payload":{"data":{"ev":{"text":"b","shout":"B"}}}}',
    ]);
    expect(sockets.map((s) => JSON.parse(s.frames[0]!) as { id: string }).map((f) => f.id)).toEqual(['id-0', 'id-1', 'id-2']);
    expect(resolverCalls).toBe(2);
    expect(serialized).toHaveLength(2);
    expect(sub.stats.direct).toBe(6);
    await Promise.all(streams.map((s) => s.return(undefined)));
    await expect(Promise.all(pulls)).resolves.toEqual(Array(3).fill({ done: true, value: undefined }));
  });

  it('closes a socket whose unsent bytes exceed the cap, and ends its stream only', async () => {
    const { schema, push } = setup();
    const sub = groupedSubscribe({ viewerClass: () => 'USER', maxBufferedBytes: 1_000, slowClose: { code: 4413, reason: 'slow' } });
    const q = 'subscription { ev(room: "r") { text } }';
    const healthy = fakeSocket();
    const slow = fakeSocket();
    const [a, b] = await Promise.all([open(sub, schema, q, {}), open(sub, schema, q, {})]);
    if (!isDirectStream(a) || !isDirectStream(b)) throw new Error('not direct streams');
    a.attach('1', healthy);
    b.attach('1', slow);
    const pulls = [a.next(), b.next()];
    await new Promise((r) => setImmediate(r));
    push({ text: 'x' });
    await waitFor(() => healthy.frames.length === 1 && slow.frames.length === 1);
    slow.bufferedAmount = 5_000;
    push({ text: 'y' });
    await expect(pulls[1]).resolves.toEqual({ done: true, value: undefined });
    expect(slow.closed).toEqual([4413, 'slow']);
    expect(slow.frames).toHaveLength(1);
    await waitFor(() => healthy.frames.length === 2);
    await a.return(undefined);
    await pulls[0];
  });
});

describe('groupedSubscribe: groups by the resolved selection', () => {
  it('gives each subscriber its own selection, through fragments and inline fragments (issue 14)', async () => {
    const { schema, push } = setup();
    const sub = groupedSubscribe(() => 'USER');
    const a = await open(sub, schema, 'subscription($r: ID!) { ...A } fragment A on Subscription { ev(room: $r) { text } }', { r: 'x' });
    const b = await open(sub, schema, 'subscription($r: ID!) { ...B } fragment B on Subscription { ev(room: $r) { shout } }', { r: 'x' });
    const c = await open(sub, schema, 'subscription($r: ID!) { ... on Subscription { ev(room: $r) { text shout } } }', { r: 'x' });
    const d = await open(sub, schema, 'subscription { e: ev(room: "x") { t: text } }', {});
    const next = [a, b, c, d].map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    push({ text: 'hi' });
    expect((await Promise.all(next)).map((r) => r.value as unknown)).toEqual([
      { data: { ev: { text: 'hi' } } },
      { data: { ev: { shout: 'HI' } } },
      { data: { ev: { text: 'hi', shout: 'HI' } } },
      { data: { e: { t: 'hi' } } },
    ]);
    expect(sub.stats.executions).toBe(4);
    await Promise.all([a, b, c, d].map((s) => s.return(undefined)));
  });

  it('shares one execution between the same fragment under different names, and splits on @include', async () => {
    const { schema, push } = setup();
    const sub = groupedSubscribe(() => 'USER');
    const q = (name: string) => `subscription($r: ID!, $loud: Boolean!) { ...${name} } fragment ${name} on Subscription { ev(room: $r) { text shout @include(if: $loud) } }`;
    const a = await open(sub, schema, q('One'), { r: 'x', loud: true });
    const b = await open(sub, schema, q('Two'), { r: 'x', loud: true });
    const c = await open(sub, schema, q('One'), { r: 'x', loud: false });
    const next = [a, b, c].map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    push({ text: 'yo' });
    expect((await Promise.all(next)).map((r) => r.value as unknown)).toEqual([
      { data: { ev: { text: 'yo', shout: 'YO' } } },
      { data: { ev: { text: 'yo', shout: 'YO' } } },
      { data: { ev: { text: 'yo' } } },
    ]);
    expect(sub.stats).toMatchObject({ executions: 2, served: 3 });
    await Promise.all([a, b, c].map((s) => s.return(undefined)));
  });
});

describe('groupedSubscribe: a @perViewer field is never rendered once for several people', () => {
  /** A test-only schema with a field whose value depends on who reads it. */
  function perViewerSetup() {
    const listeners = new Set<(e: Ev) => void>();
    const schema = makeExecutableSchema<{ role: string; user: string }>({
      typeDefs: `${PER_VIEWER_DIRECTIVE_SDL}
        type Query { x: Int }
        type Ev { text: String! mine: Boolean! @perViewer }
        type Subscription { ev(room: ID!): Ev! }`,
      resolvers: {
        Subscription: {
          ev: { subscribe: fromListeners(listeners), resolve: (e: Ev) => e },
        },
        Ev: { mine: (e: Ev, _: unknown, ctx: { user: string }) => e.text === ctx.user },
      },
    });
    return { schema, push: (e: Ev) => listeners.forEach((l) => l(e)) };
  }
  const as = async (sub: ReturnType<typeof groupedSubscribe>, schema: GraphQLSchema, query: string, user: string) => {
    const r = await sub({ schema, document: parse(query), contextValue: { role: 'USER', user } });
    if (!(Symbol.asyncIterator in r)) throw new Error('not a stream');
    return r;
  };

  it('executes per viewer when the selection touches it, even through a fragment', async () => {
    const { schema, push } = perViewerSetup();
    const sub = groupedSubscribe({ viewerClass: (ctx) => (ctx as { role: string }).role, viewerId: (ctx) => (ctx as { user: string }).user });
    const q = 'subscription { ev(room: "r") { text ...M } } fragment M on Ev { mine }';
    const alice = await as(sub, schema, q, 'alice');
    const bob = await as(sub, schema, q, 'bob');
    const alice2 = await as(sub, schema, q, 'alice');
    const next = [alice, bob, alice2].map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    push({ text: 'alice' });
    expect((await Promise.all(next)).map((r) => r.value as unknown)).toEqual([
      { data: { ev: { text: 'alice', mine: true } } },
      { data: { ev: { text: 'alice', mine: false } } },
      { data: { ev: { text: 'alice', mine: true } } },
    ]);
    // Two viewers, two executions; one viewer's two sockets still share theirs.
    expect(sub.stats).toMatchObject({ executions: 2, served: 3 });
    await Promise.all([alice, bob, alice2].map((s) => s.return(undefined)));
  });

  it('shares with nobody without a viewerId, and shares between viewers when no per-viewer field is selected', async () => {
    const { schema, push } = perViewerSetup();
    const sub = groupedSubscribe(() => 'USER');
    const mine = 'subscription { ev(room: "r") { mine } }';
    const plain = 'subscription { ev(room: "r") { text } }';
    const streams = [await as(sub, schema, mine, 'alice'), await as(sub, schema, mine, 'alice'), await as(sub, schema, plain, 'alice'), await as(sub, schema, plain, 'bob')];
    const next = streams.map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    push({ text: 'bob' });
    expect((await Promise.all(next)).map((r) => r.value as unknown)).toEqual([
      { data: { ev: { mine: false } } },
      { data: { ev: { mine: false } } },
      { data: { ev: { text: 'bob' } } },
      { data: { ev: { text: 'bob' } } },
    ]);
    expect(sub.stats).toMatchObject({ executions: 3, served: 4 });
    await Promise.all(streams.map((s) => s.return(undefined)));
  });
});

function fakeSocket(): FrameSink & { frames: string[]; bufferedAmount: number; closed?: [number, string] | undefined } {
  const s = {
    readyState: 1,
    bufferedAmount: 0,
    frames: [] as string[],
    closed: undefined as [number, string] | undefined,
    send(data: string) {
      s.frames.push(data);
    },
    close(code: number, reason: string) {
      s.closed = [code, reason];
      s.readyState = 3;
    },
  };
  return s;
}

async function waitFor(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setImmediate(r));
  }
}

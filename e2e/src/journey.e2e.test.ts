import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import type { Client } from 'graphql-ws';
import { INFRA_ENV, cli, collect, eventually, gql, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

interface Msg {
  id: string;
  room: string;
  seq: number;
  body: string;
  clientMsgId: string;
  author: { id: string; displayName: string };
}
const MESSAGE_FIELDS = 'id room seq body clientMsgId author { id displayName }';
const SUBSCRIBE = `subscription($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { ${MESSAGE_FIELDS} } }`;
const SEND = `mutation($room: ID!, $body: String!, $c: String!) { sendMessage(room: $room, body: $body, clientMsgId: $c) { ${MESSAGE_FIELDS} } }`;

describe('one message, the whole journey (gateway, chat, audit as processes)', () => {
  let sys: System;
  let http: string;
  let ws: string;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  const clients: Client[] = [];
  const tag = randomUUID().slice(0, 6);
  const roomA = `Lobby ${tag}`;
  const roomB = `Backstage ${tag}`;
  const idA = `lobby-${tag}`;
  const idB = `backstage-${tag}`;

  beforeAll(async () => {
    sys = await startSystem();
    http = sys.gateways[0]!.http;
    ws = sys.gateways[0]!.ws;
    [alice, bob, carol] = await Promise.all([
      register(http, `alice_${tag}`, 'Alice'),
      register(http, `bob_${tag}`, 'Bob'),
      register(http, `carol_${tag}`, 'Carol'),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('delivers each message to exactly the subscribers of its room, in order, with the sender name', async () => {
    const join = 'mutation($n: String!) { joinRoom(name: $n) { id name kind } }';
    expect((await gqlOk<{ joinRoom: { id: string } }>(http, join, { n: roomA }, alice.token)).joinRoom).toEqual({ id: idA, name: roomA, kind: 'PUBLIC' });
    await gqlOk(http, join, { n: roomB }, alice.token);
    await gqlOk(http, join, { n: roomA }, bob.token);
    await gqlOk(http, join, { n: roomB }, carol.token);

    const [ca, cb, cc] = [wsClient(ws, alice.token), wsClient(ws, bob.token), wsClient(ws, carol.token)];
    clients.push(ca, cb, cc);
    const aliceA = collect<{ messageAdded: Msg }>(ca, SUBSCRIBE, { room: idA, after: 0 });
    const aliceB = collect<{ messageAdded: Msg }>(ca, SUBSCRIBE, { room: idB, after: 0 });
    const bobA = collect<{ messageAdded: Msg }>(cb, SUBSCRIBE, { room: idA, after: 0 });
    const carolB = collect<{ messageAdded: Msg }>(cc, SUBSCRIBE, { room: idB, after: 0 });

    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= 3; i++) sends.push(gqlOk(http, SEND, { room: idA, body: `a${i} from alice`, c: `a-${i}` }, alice.token));
    for (let i = 1; i <= 2; i++) sends.push(gqlOk(http, SEND, { room: idA, body: `b${i} from bob`, c: `b-${i}` }, bob.token));
    for (let i = 1; i <= 2; i++) sends.push(gqlOk(http, SEND, { room: idB, body: `c${i} from carol`, c: `c-${i}` }, carol.token));
    await Promise.all(sends);

    const a = (await bobA.until(5)).map((x) => x.messageAdded);
    const b = (await carolB.until(2)).map((x) => x.messageAdded);
    await aliceA.until(5);
    await aliceB.until(2);

    expect(a.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(b.map((m) => m.seq)).toEqual([1, 2]);
    expect(a.every((m) => m.room === idA)).toBe(true);
    expect(b.every((m) => m.room === idB)).toBe(true);
    expect(a.filter((m) => m.author.id === alice.user.id).map((m) => m.author.displayName)).toEqual(['Alice', 'Alice', 'Alice']);
    expect(a.filter((m) => m.author.id === bob.user.id).map((m) => m.author.displayName)).toEqual(['Bob', 'Bob']);
    expect(b.map((m) => m.author.displayName)).toEqual(['Carol', 'Carol']);
    expect(aliceA.items.map((x) => x.messageAdded.id)).toEqual(a.map((m) => m.id));
    expect(aliceB.items.map((x) => x.messageAdded.id)).toEqual(b.map((m) => m.id));

    // A retried send (same clientMsgId) is the same message, not a new one.
    const again = await gqlOk<{ sendMessage: Msg }>(http, SEND, { room: idA, body: 'a1 from alice', c: 'a-1' }, alice.token);
    expect(again.sendMessage.id).toBe(a.find((m) => m.clientMsgId === 'a-1')?.id);

    // Carol (room B only) never saw room A's messages, and nothing more arrived anywhere.
    const marker = await gqlOk<{ sendMessage: Msg }>(http, SEND, { room: idB, body: 'marker', c: 'c-marker' }, carol.token);
    await carolB.until(3);
    await aliceB.until(3);
    expect(carolB.items.map((x) => x.messageAdded.id)).toEqual([...b.map((m) => m.id), marker.sendMessage.id]);
    expect(bobA.items).toHaveLength(5);
    expect([...aliceA.errors, ...aliceB.errors, ...bobA.errors, ...carolB.errors]).toEqual([]);

    // History: ascending by seq, the same messages.
    const hist = await gqlOk<{ messages: { messages: Msg[]; hasMore: boolean } }>(
      http,
      `query($r: ID!) { messages(room: $r) { messages { ${MESSAGE_FIELDS} } hasMore } }`,
      { r: idA },
      bob.token,
    );
    expect(hist.messages.messages.map((m) => m.id)).toEqual(a.map((m) => m.id));
    expect(hist.messages.hasMore).toBe(false);

    // users and rooms
    const lists = await gqlOk<{ users: { username: string }[]; rooms: { id: string; lastSeq: number; members: { username: string }[] }[] }>(
      http,
      '{ users { username } rooms { id lastSeq members { username } } }',
      {},
      bob.token,
    );
    expect(lists.users.map((u) => u.username)).toEqual(expect.arrayContaining([`alice_${tag}`, `bob_${tag}`, `carol_${tag}`]));
    const listedA = lists.rooms.find((r) => r.id === idA);
    expect(listedA?.lastSeq).toBe(5);
    expect(listedA?.members.map((m) => m.username).sort()).toEqual([`alice_${tag}`, `bob_${tag}`]);

    // Kafka holds each message's event (read straight from the topic, independent of the audit service).
    const ids = new Set(a.map((m) => m.id));
    const kafka = new Kafka({ clientId: 'e2e', brokers: INFRA_ENV.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${sys.namespace}-e2e-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${sys.namespace}.events`, fromBeginning: true });
    const seen = new Map<string, number>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const e = JSON.parse(message.value?.toString() ?? '{}') as { type: string; key: string; data: { message?: { id: string } } };
        if (e.type === 'message.posted' && e.data.message && ids.has(e.data.message.id)) {
          expect(message.key?.toString()).toBe(idA);
          seen.set(e.data.message.id, (seen.get(e.data.message.id) ?? 0) + 1);
        }
        await Promise.resolve();
      },
    });
    await eventually('every message.posted event on Kafka', () => (seen.size === ids.size ? true : undefined), 30_000);
    await consumer.disconnect();

    // The audit log holds each message once; only admins may read it.
    const admin = `admin_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', admin, '--password', 'admin-password-1']);
    expect(created.code, created.out).toBe(0);
    const login = await gqlOk<{ login: { token: string; user: { username: string } } }>(
      http,
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { username } } }',
      { u: admin.toUpperCase(), p: 'admin-password-1' },
    );
    const auditQuery = `query($r: ID) { auditLog(room: $r, type: "message.posted") { events { id type room actor { id } data } nextCursor } }`;
    const forbidden = await gql(http, auditQuery, { r: idA }, bob.token);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const events = await eventually('the audit log to hold the 5 messages', async () => {
      const d = await gqlOk<{ auditLog: { events: { id: string; room: string; actor: { id: string }; data: { message: { id: string } } }[] } }>(
        http,
        auditQuery,
        { r: idA },
        login.login.token,
      );
      return d.auditLog.events.length >= 5 ? d.auditLog.events : undefined;
    }, 30_000);
    const perMessage = new Map<string, number>();
    for (const e of events) perMessage.set(e.data.message.id, (perMessage.get(e.data.message.id) ?? 0) + 1);
    expect([...perMessage.keys()].sort()).toEqual([...ids].sort());
    expect([...perMessage.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('refuses bad input with a clear code and message', async () => {
    const noToken = await gql(http, '{ rooms { id } }');
    expect(noToken.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await gql(http, '{ rooms { id } }', {}, `${alice.token.slice(0, -4)}AAAA`);
    expect(forged.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/invalid/) });

    const login = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }';
    const wrongPassword = await gql(http, login, { u: alice.user.username, p: 'not the password' });
    const unknownUser = await gql(http, login, { u: `ghost_${tag}`, p: 'not the password' });
    expect(wrongPassword.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknownUser.errors?.[0]?.message).toBe(wrongPassword.errors?.[0]?.message);

    const empty = await gql(http, SEND, { room: idA, body: '   ', c: 'e-1' }, alice.token);
    expect(empty.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/body/) });
    const long = await gql(http, SEND, { room: idA, body: 'x'.repeat(4_001), c: 'e-2' }, alice.token);
    expect(long.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/4000/) });
    const nowhere = await gql(http, SEND, { room: `nowhere-${tag}`, body: 'hi', c: 'e-3' }, alice.token);
    expect(nowhere.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badRoom = await gql(http, 'mutation { joinRoom(name: "!!!") { id } }', {}, alice.token);
    expect(badRoom.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/name/) });
    const tooLong = await gql(http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: 'a'.repeat(65) }, alice.token);
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const wrongType = await gql(http, 'mutation { sendMessage(room: 5) { id } }', {}, alice.token);
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const taken = await gql(http, 'mutation($u: String!) { register(username: $u, password: "long enough pw") { token } }', { u: alice.user.username });
    expect(taken.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    // A socket without a valid token is refused at connection_init with 4403.
    for (const token of [undefined, 'not-a-token']) {
      const closed = new Promise<number>((resolve) => {
        const c = wsClient(ws, token, (code) => resolve(code));
        clients.push(c);
      });
      expect(await closed).toBe(4403);
    }
  });
});

describe('start-up without a dependency', () => {
  it('exits non-zero with one line naming what it could not reach', async () => {
    const { spawnService } = await import('./harness.js');
    const env = { ...INFRA_ENV, CONVERSA_NAMESPACE: `e2e-down-${randomUUID().slice(0, 6)}`, STARTUP_TIMEOUT_MS: '2000', LOG_LEVEL: 'silent', PORT: '0', CHAT_PORT: '0', AUDIT_PORT: '0' };
    const cases = [
      { service: 'gateway' as const, env: { REDIS_URL: 'redis://127.0.0.1:1' }, says: /cannot reach Redis/ },
      { service: 'chat' as const, env: { MONGO_URL: 'mongodb://127.0.0.1:1' }, says: /cannot reach MongoDB/ },
      { service: 'audit' as const, env: { KAFKA_BROKERS: '127.0.0.1:1' }, says: /cannot reach Kafka/ },
    ];
    await Promise.all(
      cases.map(async (c) => {
        const p = spawnService(c.service, { ...env, ...c.env });
        expect(await p.exited).toBe(1);
        const lines = p.output.join('').trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(c.says);
      }),
    );
  });
});

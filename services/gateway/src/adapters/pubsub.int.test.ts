/**
 * Room signals over a real Redis. Each test publishes on channels of its own namespace
 * (`it-<uuid8>:room:<room>`), so runs can overlap.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { names, type MessageView, type Names, type RoomSignal } from '@conversa/contracts';
import { RoomHubs, type HistoryReader } from '../room-hub.js';
import { createRedisSignals, type RedisSignals } from './pubsub.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const uuid8 = () => randomUUID().slice(0, 8);

/** Resolves when `check` returns true; polls every 10 ms, fails after `timeoutMs`. */
async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects if `p` does not settle within `ms`. */
function within<T>(what: string, p: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const ann = { id: 'u-ann', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const message = (room: string, seq: number): MessageView => ({
  id: `${room}-${seq}`,
  room,
  seq,
  author: ann,
  body: `m${seq}`,
  status: 'VISIBLE',
  clientMsgId: `c${seq}`,
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  pinned: false,
});

let n: Names;
let admin: Redis;
let signals: RedisSignals;
let warnings: string[];

const numsub = async (channel: string): Promise<number> => {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
};

beforeEach(async () => {
  n = names(`it-${uuid8()}`);
  admin = new Redis(REDIS_URL, { lazyConnect: true, connectionName: 'it-pubsub-admin' });
  await admin.connect();
  warnings = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      warnings.push(chunk.toString('utf8'));
      done();
    },
  });
  signals = createRedisSignals(REDIS_URL, n.roomChannel, pino({ level: 'warn' }, sink));
  await signals.connect();
});

afterEach(async () => {
  await signals.close();
  admin.disconnect();
});

describe('createRedisSignals', () => {
  it('delivers a contract-valid signal published by a plain client on the room channel', async () => {
    const got = deferred<RoomSignal>();
    const unsubscribe = await signals.subscribe('lobby', (s) => got.resolve(s));
    const sent: RoomSignal = { kind: 'message.added', message: message('lobby', 1) };
    // Another room's channel and another namespace's channel with the same room id: not ours.
    await admin.publish(n.roomChannel('elsewhere'), JSON.stringify({ kind: 'typing', user: ann }));
    await admin.publish(
      names(`it-${uuid8()}`).roomChannel('lobby'),
      JSON.stringify({ kind: 'typing', user: ann }),
    );
    await admin.publish(n.roomChannel('lobby'), JSON.stringify(sent));
    expect(await within('the signal', got.promise)).toEqual(sent);
    await unsubscribe();
  });

  it('drops a payload that breaks the contract and keeps delivering later ones', async () => {
    const received: RoomSignal[] = [];
    const unsubscribe = await signals.subscribe('lobby', (s) => received.push(s));
    const channel = n.roomChannel('lobby');
    await admin.publish(channel, 'not json at all');
    await admin.publish(
      channel,
      JSON.stringify({ kind: 'message.added', message: { ...message('lobby', 1), seq: -1 } }),
    );
    await admin.publish(channel, JSON.stringify({ kind: 'unknown' }));
    const valid: RoomSignal = { kind: 'presence', user: ann, online: true };
    await admin.publish(channel, JSON.stringify(valid));
    await eventually('the valid signal', () => received.length > 0);
    expect(received).toEqual([valid]);
    expect(warnings.filter((w) => w.includes('does not match the contract'))).toHaveLength(3);
    await unsubscribe();
  });

  it('holds one Redis subscription per room however many subscribe, none after the last leaves', async () => {
    const channel = n.roomChannel('lobby');
    const a: RoomSignal[] = [];
    const b: RoomSignal[] = [];
    const [offA, offB] = await Promise.all([
      signals.subscribe('lobby', (s) => a.push(s)),
      signals.subscribe('lobby', (s) => b.push(s)),
    ]);
    expect(await numsub(channel)).toBe(1);
    const typing: RoomSignal = { kind: 'typing', user: ann };
    await admin.publish(channel, JSON.stringify(typing));
    await eventually('both listeners', () => a.length === 1 && b.length === 1);

    await offA();
    expect(await numsub(channel)).toBe(1);
    await offB();
    await eventually('no subscription left', async () => (await numsub(channel)) === 0);
  });

  it('resubscribes after the subscriber connection drops and tells the reconnect listeners', async () => {
    const subscriber = signals.pubsub.getSubscriber();
    const clientId = await subscriber.client('ID'); // before SUBSCRIBE: afterwards only pub/sub commands are allowed
    const reconnected = deferred<void>();
    signals.onReconnect(() => reconnected.resolve());
    const received: RoomSignal[] = [];
    const unsubscribe = await signals.subscribe('lobby', (s) => received.push(s));

    await admin.call('CLIENT', 'KILL', 'ID', String(clientId));
    await within('onReconnect', reconnected.promise, 10_000);
    await eventually(
      'the resubscription',
      async () => (await numsub(n.roomChannel('lobby'))) === 1,
    );
    const typing: RoomSignal = { kind: 'typing', user: ann };
    await admin.publish(n.roomChannel('lobby'), JSON.stringify(typing));
    await eventually('a signal after the reconnect', () => received.length === 1);
    expect(received).toEqual([typing]);
    await unsubscribe();
  });
});

describe('RoomHubs over Redis signals', () => {
  it('two subscribers of one room share ONE Redis subscription, released when both are gone', async () => {
    const history: HistoryReader = {
      lastSeq: () => Promise.resolve(0),
      between: () => Promise.resolve([]),
    };
    const hubs = new RoomHubs(signals, history, pino({ level: 'silent' }));
    const channel = n.roomChannel('lobby');

    const first = hubs.messages('lobby', undefined)[Symbol.asyncIterator]();
    const second = hubs.messages('lobby', undefined)[Symbol.asyncIterator]();
    // A Repeater starts on its first next(): both subscribers are now attaching.
    const firstNext = first.next();
    const secondNext = second.next();
    await eventually('the room subscription', async () => (await numsub(channel)) === 1);
    expect(hubs.size).toBe(1);

    await admin.publish(
      channel,
      JSON.stringify({ kind: 'message.added', message: message('lobby', 1) }),
    );
    const [r1, r2] = await within('both subscribers', Promise.all([firstNext, secondNext]));
    expect(r1.value).toEqual(message('lobby', 1));
    expect(r2.value).toEqual(message('lobby', 1));
    expect(await numsub(channel)).toBe(1);

    await first.return?.();
    expect(hubs.size).toBe(1);
    expect(await numsub(channel)).toBe(1);
    await second.return?.();
    expect(hubs.size).toBe(0);
    await eventually('no subscription left', async () => (await numsub(channel)) === 0);
  });
});

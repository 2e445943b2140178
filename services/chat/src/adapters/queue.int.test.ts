/**
 * The chat's BullMQ command worker against a real Redis, fed by a bare Queue (the gateway's
 * CommandBus is not a dependency of chat). Every test uses a BullMQ prefix of its own
 * (`it-<uuid8>`) whose keys are deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createCommandWorker } from './queue.js';
import { createRedis } from './redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUEUE = 'commands';
const uuid8 = () => randomUUID().slice(0, 8);

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let prefix: string;
let connections: Redis[];
let queue: Queue;
let events: QueueEvents;
let worker: Worker | undefined;
let running: Promise<void> | undefined;

async function redis(name: string): Promise<Redis> {
  const r = createRedis(REDIS_URL, name);
  await r.connect();
  connections.push(r);
  return r;
}

async function startWorker(
  execute: (payload: unknown) => Promise<unknown>,
  concurrency = 2,
): Promise<Worker> {
  const w = createCommandWorker({
    connection: await redis('it-chat-worker'),
    prefix,
    queue: QUEUE,
    concurrency,
    execute,
    staleAfterMs: 60_000,
  });
  worker = w;
  running = w.run();
  await w.waitUntilReady();
  return w;
}

beforeEach(async () => {
  prefix = `it-${uuid8()}`;
  connections = [];
  queue = new Queue(QUEUE, { connection: await redis('it-queue'), prefix });
  events = new QueueEvents(QUEUE, { connection: await redis('it-queue-events'), prefix });
  await events.waitUntilReady();
});

afterEach(async () => {
  await worker?.close();
  await running;
  worker = undefined;
  running = undefined;
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  const [first] = connections;
  // obliterate leaves the events stream and meta keys behind.
  const left = first ? await first.keys(`${prefix}:*`) : [];
  if (first && left.length > 0) await first.del(...left);
  for (const c of connections) c.disconnect();
});

describe('createCommandWorker', () => {
  it('runs a job through execute with the job name as the command type and returns its result', async () => {
    await startWorker((payload) => Promise.resolve({ echo: payload }));
    const job = await queue.add('message.send', {
      actor: 'u1',
      room: 'lobby',
      body: 'hi',
      clientMsgId: 'c1',
    });
    const result: unknown = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({
      echo: { type: 'message.send', actor: 'u1', room: 'lobby', body: 'hi', clientMsgId: 'c1' },
    });
  });

  it('drops a stale job whose policy says drop, and runs a stale idempotent one', async () => {
    const calls: string[] = [];
    await startWorker((payload) => {
      calls.push(String((payload as { type: string }).type));
      return Promise.resolve({ ok: true });
    });
    const old = Date.now() - 120_000; // older than staleAfterMs (60 s): its caller has given up
    const register = await queue.add('user.register', { username: 'ann' }, { timestamp: old });
    const send = await queue.add('message.send', { actor: 'u1', room: 'lobby', body: 'hi', clientMsgId: 'c1' }, { timestamp: old });
    expect(await register.waitUntilFinished(events, 10_000)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(await send.waitUntilFinished(events, 10_000)).toEqual({ ok: true });
    expect(calls).toEqual(['message.send']);
  });

  it('retries a job whose execute threw; it succeeds on the second attempt', async () => {
    const calls: unknown[] = [];
    await startWorker((payload) => {
      calls.push(payload);
      if (calls.length === 1) return Promise.reject(new Error('database blip'));
      return Promise.resolve({ ok: true, attempt: calls.length });
    });
    const job = await queue.add('room.join', { actor: 'u1', name: 'Lobby' }, { attempts: 3 });
    const result: unknown = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({ ok: true, attempt: 2 });
    expect(calls).toEqual([
      { type: 'room.join', actor: 'u1', name: 'Lobby' },
      { type: 'room.join', actor: 'u1', name: 'Lobby' },
    ]);
    const stored = await queue.getJob(job.id!);
    expect(stored?.attemptsMade).toBe(2);
    expect(await stored?.getState()).toBe('completed');
  });

  it('close() waits for the job in flight to finish', async () => {
    const started = deferred();
    const release = deferred();
    const order: string[] = [];
    const w = await startWorker(async () => {
      started.resolve();
      await release.promise;
      order.push('job finished');
      return { done: true };
    });
    const job = await queue.add('message.send', { n: 1 });
    await started.promise;

    let closed = false;
    const closing = w.close().then(() => {
      closed = true;
      order.push('worker closed');
    });
    // A round trip to Redis later the job is still active and close() has not resolved.
    expect(await job.getState()).toBe('active');
    expect(closed).toBe(false);

    release.resolve();
    await closing;
    expect(order).toEqual(['job finished', 'worker closed']);
    expect(await job.getState()).toBe('completed');
    expect((await queue.getJob(job.id!))?.returnvalue).toEqual({ done: true });
  });
});

/**
 * The client SDK (@conversa/client) against the real services: two gateways, a watcher whose
 * gateway is killed (SIGKILL) mid-stream, a sender that keeps sending through the failover.
 * The watcher must end with every seq exactly once, in order, and every acknowledged send
 * must be stored once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ConversaClient,
  ConversaError,
  operations,
  type ConnectionEvent,
  type Message,
} from '@conversa/client';
import { REPO, eventually, startSystem, type System } from './harness.js';

const TOTAL = 60;
const KILL_AT = 20;

describe('client SDK: resume with no gap or duplicate when its gateway dies', () => {
  let sys: System;
  const clients: ConversaClient[] = [];
  const tag = randomUUID().slice(0, 6);
  const make = (events?: ConnectionEvent[]) => {
    const c = new ConversaClient({
      url: sys.gateways.map((g) => g.http),
      webSocketImpl: WebSocket,
      requestTimeoutMs: 5_000,
      retry: { maxAttempts: 20 },
      ...(events ? { onConnection: (e: ConnectionEvent) => events.push(e) } : {}),
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // The load rules and no per-room send bucket: this test is about failover, and 60 sends as
    // fast as one sender can would otherwise wait a second each after the first 20 (the SDK
    // waits retryAfter and retries; packages/client's tests cover that).
    sys = await startSystem({
      gateways: 2,
      env: {
        MODERATION_RULES_FILE: `${REPO}e2e/fixtures/rules-load.yaml`,
        RATE_LIMIT_ROOM_SEND_BURST: '1000',
      },
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sys?.stop();
  });

  it('surfaces refusals by code', async () => {
    const c = make();
    await c.register(`refused_${tag}`, 'correct horse battery');
    const e = await c.send(`nowhere-${tag}`, 'hello').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConversaError);
    expect(['NOT_FOUND', 'FORBIDDEN']).toContain((e as ConversaError).code);
    const bad = await c
      .request(operations.MessagesDocument, { room: `nowhere-${tag}`, limit: 0 })
      .catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(ConversaError);
  });

  it('the watcher resumes on the other gateway and sees 1..N once each; sends are stored once', async () => {
    const events: ConnectionEvent[] = [];
    const watcher = make(events);
    const sender = make();
    await watcher.register(`watcher_${tag}`, 'correct horse battery', 'Watcher');
    await sender.register(`sender_${tag}`, 'correct horse battery', 'Sender');
    const room = (await watcher.joinRoom(`sdk-${tag}`)).id;
    await sender.joinRoom(`sdk-${tag}`);

    const seen: number[] = [];
    const errors: unknown[] = [];
    const watch = watcher.watchRoom(room, {
      after: 0,
      onMessage: (m: Message) => seen.push(m.seq),
      onError: (e) => errors.push(e),
    });
    await watch.ready;
    await eventually('the watcher to be connected', () =>
      events.some((e) => e.type === 'connected') ? true : undefined,
    );
    const first = events.find((e) => e.type === 'connected');
    const victim = sys.gateways.find((g) => g.ws === (first as { url: string }).url)!;

    const acked: Message[] = [];
    for (let i = 1; i <= TOTAL; i++) {
      acked.push(await sender.send(room, `message ${i}`));
      if (i === KILL_AT) {
        victim.proc.child.kill('SIGKILL');
        await victim.proc.exited;
      }
    }
    await eventually(
      `the watcher to have all ${TOTAL} messages`,
      () => (seen.length >= TOTAL ? true : undefined),
      30_000,
    );

    expect(errors).toEqual([]);
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(watch.lastSeq).toBe(TOTAL);
    // It lost its gateway and came back on the other one.
    const closedAt = events.findIndex((e) => e.type === 'closed');
    expect(closedAt).toBeGreaterThan(0);
    expect(events.slice(closedAt).some((e) => e.type === 'connected' && e.url !== victim.ws)).toBe(
      true,
    );
    // Every acknowledged send is stored once: dense seqs, one per clientMsgId.
    expect(acked.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    const page = await sender.request(operations.MessagesDocument, { room, after: 0, limit: 200 });
    expect(page.messages.messages).toHaveLength(TOTAL);
    expect(new Set(page.messages.messages.map((m) => m.clientMsgId)).size).toBe(TOTAL);
    watch.stop();
  });
});

/**
 * The three answers of the command path, through the real gateway, queue and chat worker: done
 * (stored); refused at once with UNAVAILABLE and a retryAfter (certainly not executed); outcome
 * unknown (enqueued, not finished in time), after which a retry with the same clientMsgId returns
 * the stored message. The chat worker is paused with SIGSTOP to saturate the write path.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, gql, gqlOk, register, startSystem, type Session, type System } from './harness.js';

const SEND = 'mutation($room: ID!, $body: String!, $c: String!) { sendMessage(room: $room, body: $body, clientMsgId: $c) { id seq clientMsgId } }';
const HISTORY = 'query($room: ID!) { messages(room: $room, limit: 200) { messages { id clientMsgId } } }';

interface Sent {
  id: string;
  seq: number;
  clientMsgId: string;
}
type Answer = { data?: { sendMessage?: Sent } | null; errors?: { message: string; extensions?: { code?: string; retryAfter?: number } }[] };

describe('answers under overload', () => {
  let sys: System;
  let http: string;
  let ann: Session;
  const tag = randomUUID().slice(0, 6);
  const room = `busy-${tag}`;
  const send = (c: string) => gql<{ sendMessage: Sent }>(http, SEND, { room, body: `m ${c}`, c }, ann.token) as Promise<Answer>;

  beforeAll(async () => {
    sys = await startSystem({ env: { COMMAND_TIMEOUT_MS: '1500', ADMISSION_MIN_BACKLOG: '4' } });
    http = sys.gateways[0]!.http;
    ann = await register(http, `ann_${tag}`, 'Ann');
    await gqlOk(http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, ann.token);
  });

  afterAll(async () => {
    for (const p of sys?.procs ?? []) if (p.name === 'chat') p.child.kill('SIGCONT');
    await sys?.stop();
  });

  it('answers done, refused with retryAfter, or outcome unknown, and a retry returns the stored message', async () => {
    const done = await send('done-1');
    expect(done.data?.sendMessage).toMatchObject({ clientMsgId: 'done-1', seq: 1 });

    const chat = sys.procs.find((p) => p.name === 'chat')!;
    let refusedIds: string[] = [];
    let admittedIds: string[] = [];
    chat.child.kill('SIGSTOP'); // the write path stops: jobs wait in the queue
    try {
      const unknown = await send('late-1');
      expect(unknown.errors?.[0]?.extensions?.code).toBe('OUTCOME_UNKNOWN');
      expect(unknown.errors?.[0]?.message).toMatch(/same clientMsgId is safe/);

      // A burst beyond what the stopped worker can start: refused at once, before enqueueing.
      const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => send(`burst-${i}`)));
      const codes = burst.map((b) => b.errors?.[0]?.extensions?.code);
      const refused = burst.filter((b) => b.errors?.[0]?.extensions?.code === 'UNAVAILABLE');
      expect(refused.length).toBeGreaterThan(0);
      expect(codes.every((c) => c === 'UNAVAILABLE' || c === 'OUTCOME_UNKNOWN')).toBe(true);
      for (const r of refused) expect(r.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
      refusedIds = burst.flatMap((b, i) => (b.errors?.[0]?.extensions?.code === 'UNAVAILABLE' ? [`burst-${i}`] : []));
      admittedIds = burst.flatMap((b, i) => (b.errors?.[0]?.extensions?.code === 'OUTCOME_UNKNOWN' ? [`burst-${i}`] : []));
    } finally {
      chat.child.kill('SIGCONT');
    }

    // The worker catches up: the message of the unknown outcome was stored, and the retry returns it.
    const retried = await eventually('the retry to be answered', async () => (await send('late-1')).data?.sendMessage ?? undefined, 30_000);
    const stored = await eventually('the admitted sends to be stored', async () => {
      const page = await gqlOk<{ messages: { messages: { id: string; clientMsgId: string }[] } }>(http, HISTORY, { room }, ann.token);
      const ids = page.messages.messages.map((m) => m.clientMsgId);
      return admittedIds.every((c) => ids.includes(c)) && ids.includes('late-1') ? page.messages.messages : undefined;
    }, 30_000);
    expect(stored.filter((m) => m.clientMsgId === 'late-1')).toEqual([{ id: retried.id, clientMsgId: 'late-1' }]);
    // What was refused was certainly not done.
    expect(stored.filter((m) => refusedIds.includes(m.clientMsgId))).toEqual([]);
    expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(stored.length);
  }, 90_000);
});

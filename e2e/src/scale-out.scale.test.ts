/**
 * Scale-out on one machine: 3 gateways, 2 chat workers, 2 audit consumers, topics with 6
 * partitions keyed by room. Under steady load (senders and watchers spread over the
 * gateways, through the client SDK), an audit consumer is added, another one leaves, and one
 * gateway is killed with SIGKILL. The independent checker of the fault suite then proves that
 * nothing acknowledged was lost or doubled, every watcher saw its room exactly once in order
 * (those of the dead gateway resumed on the others), and the audit log holds every message
 * once, whichever consumer wrote it.
 *
 * Size: SCALE_MESSAGES (messages in all; 180 by default, the CI size).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConversaClient, type ConnectionEvent } from '@conversa/client';
import {
  REPO,
  eventually,
  freePort,
  spawnService,
  startSystem,
  type ServiceProcess,
  type System,
} from './harness.js';
import { check } from './faults/checker.js';
import type { Ack, SubscriberRecord } from './faults/load.js';
import { scrape, sum } from './metrics-text.js';

const TOTAL = Number(process.env.SCALE_MESSAGES ?? 180);
const ROOMS = 6;
const SENDERS = 6;

const rotate = <T>(xs: T[], by: number) => xs.map((_, i) => xs[(i + by) % xs.length]!);

describe(`scale-out: 3 gateways, 2 chats, 2→3→2 audits, one gateway killed (${TOTAL} messages)`, () => {
  let sys: System;
  const clients: ConversaClient[] = [];
  const tag = randomUUID().slice(0, 6);

  beforeAll(async () => {
    sys = await startSystem({
      gateways: 3,
      chats: 2,
      audits: 2,
      // The load rules: no flood mute for senders that post many messages a second.
      env: { KAFKA_PARTITIONS: '6', MODERATION_RULES_FILE: `${REPO}e2e/fixtures/rules-load.yaml` },
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sys?.stop();
  });

  const client = (offset: number, events?: ConnectionEvent[]) => {
    const c = new ConversaClient({
      url: rotate(
        sys.gateways.map((g) => g.http),
        offset,
      ),
      webSocketImpl: WebSocket,
      requestTimeoutMs: 8_000,
      retry: { maxAttempts: 30, maxDelayMs: 2_000 },
      ...(events ? { onConnection: (e: ConnectionEvent) => events.push(e) } : {}),
    });
    clients.push(c);
    return c;
  };

  const auditPort = (p: ServiceProcess) => p.port!;
  const appendedBy = async (p: ServiceProcess) =>
    sum(await scrape(auditPort(p)), 'conversa_audit_events_appended_total') ?? 0;

  it('rebalances the audit consumers and moves the dead gateway’s clients, losing and doubling nothing', async () => {
    // Senders, one per room, each on a different first gateway.
    const rooms: string[] = [];
    const senders: ConversaClient[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const s = client(i);
      await s.register(`s${i}_${tag}`, 'correct horse battery', `Sender ${i}`);
      senders.push(s);
    }
    for (let r = 0; r < ROOMS; r++) {
      const id = (await senders[r % SENDERS]!.joinRoom(`scale-${r}-${tag}`)).id;
      rooms.push(id);
    }
    // Two watchers per room, on two different gateways.
    const records: SubscriberRecord[] = [];
    const watcherEvents: ConnectionEvent[][] = [];
    for (let r = 0; r < ROOMS; r++) {
      for (let k = 0; k < 2; k++) {
        const events: ConnectionEvent[] = [];
        watcherEvents.push(events);
        const w = client(r + k, events);
        await w.register(`w${r}${k}_${tag}`, 'correct horse battery');
        await w.joinRoom(`scale-${r}-${tag}`);
        const rec: SubscriberRecord = { room: rooms[r]!, seqs: [], violations: [], resumes: 0 };
        records.push(rec);
        const watch = w.watchRoom(rooms[r]!, {
          after: 0,
          onMessage: (m) => {
            const last = rec.seqs.at(-1) ?? 0;
            if (m.seq !== last + 1) rec.violations.push(`expected ${last + 1}, got ${m.seq}`);
            rec.seqs.push(m.seq);
          },
          onError: (e) => rec.violations.push(`watch ended: ${e.code} ${e.message}`),
        });
        await watch.ready;
      }
    }
    // Every sender posts into every room.
    for (const s of senders) for (let r = 0; r < ROOMS; r++) await s.joinRoom(`scale-${r}-${tag}`);

    const acks: Ack[] = [];
    const audits = sys.procs.filter((p) => p.name === 'audit');
    let added: ServiceProcess | undefined;
    const steps: Promise<void>[] = [];
    const victim = sys.gateways[0]!;
    const atFraction = (f: number, step: () => Promise<void>) => ({
      at: Math.floor(TOTAL * f),
      step,
      done: false,
    });
    const plan = [
      // A third audit consumer joins the group: 6 partitions over 3 members.
      atFraction(0.25, async () => {
        const port = await freePort();
        added = spawnService('audit', { ...sys.env, AUDIT_PORT: String(port) });
        added.port = port;
        sys.procs.push(added);
        await eventually(
          'the added audit consumer to be ready',
          async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined),
          60_000,
        );
      }),
      // One of the first two leaves (graceful: commits, leaves the group).
      atFraction(0.5, async () => {
        audits[0]!.child.kill('SIGTERM');
        expect(await audits[0]!.exited).toBe(0);
      }),
      // A gateway dies: its sockets drop, its clients move to the others and resume.
      atFraction(0.7, async () => {
        victim.proc.child.kill('SIGKILL');
        await victim.proc.exited;
      }),
    ];
    const deadline = Date.now() + 240_000;
    // Load goes on past TOTAL until every step is done and the added consumer has written part
    // of the log: a rebalance takes seconds, and a small run could end before it settles.
    let addedWrote = false;
    const stepsDone = () => plan.every((p) => p.done) && settled.length === plan.length;
    const settled: unknown[] = [];
    const more = () => acks.length < TOTAL || !stepsDone() || !addedWrote;
    const watchAdded = (async () => {
      while (!addedWrote && Date.now() < deadline) {
        if (added?.port !== undefined) addedWrote = (await appendedBy(added).catch(() => 0)) > 0;
        if (!addedWrote) await new Promise((r) => setTimeout(r, 250)); // polling a metric, not a fixed wait
      }
    })();
    await Promise.all(
      senders.map(async (s, si) => {
        for (let n = 0; more() && Date.now() < deadline; n++) {
          const room = rooms[(si + n) % ROOMS]!;
          const m = await s.send(room, `#${n} from ${si}`);
          acks.push({ id: m.id, room: m.room, seq: m.seq, clientMsgId: m.clientMsgId });
          for (const p of plan) {
            if (!p.done && acks.length >= p.at) {
              p.done = true;
              steps.push(p.step().finally(() => settled.push(p)));
            }
          }
        }
      }),
    );
    await Promise.all(steps);
    await watchAdded;
    expect(acks.length).toBeGreaterThanOrEqual(TOTAL);

    // The added consumer took partitions and wrote part of the log.
    await eventually(
      'the added audit consumer to append events',
      async () => ((await appendedBy(added!)) > 0 ? true : undefined),
      60_000,
    );

    const verdict = await eventually(
      'everything delivered, audited once, outbox empty',
      async () => {
        const v = await check(sys.env.MONGO_URL!, sys.namespace, rooms, acks, records);
        return v.problems.length === 0 ? v : undefined;
      },
      90_000,
    ).catch(async (e: unknown) => {
      const v = await check(sys.env.MONGO_URL!, sys.namespace, rooms, acks, records);
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}\n${v.problems.slice(0, 20).join('\n')}`,
      );
    });
    expect(verdict.lostAcked).toBe(0);
    expect(verdict.duplicates).toBe(0);
    expect(verdict.gaps).toBe(0);
    expect(verdict.delivered).toBe(verdict.expectedDeliveries);
    expect(verdict.audited).toBe(verdict.stored);
    // Watchers of the dead gateway lost their socket and came back on another gateway.
    const moved = watcherEvents.filter((ev) =>
      ev.some((e) => e.type === 'closed' && e.url === victim.ws),
    );
    expect(moved.length).toBeGreaterThan(0);
    for (const ev of moved) {
      const closedAt = ev.findIndex((e) => e.type === 'closed');
      expect(ev.slice(closedAt).some((e) => e.type === 'connected' && e.url !== victim.ws)).toBe(
        true,
      );
    }
  }, 360_000);
});

/**
 * The fault suite: steady load (senders into several rooms through two gateways, subscribers
 * on both gateways that drop and resume with `after`) while one component at a time is killed
 * with SIGKILL and restarted. An independent checker then proves nothing acknowledged was
 * lost or doubled, every subscriber saw its room exactly once in order, and the audit log
 * holds every message once with nothing left in the outbox. The load also replies in threads,
 * reacts and marks read, and a second checker (product-checker.ts) proves every reaction
 * counted once, every thread's reply count equal to its replies, read positions never moved
 * back with each person's unread count what the stored messages give, and the search index
 * holding every VISIBLE message once. Besides one component at a time, two at the same moment:
 * Redis with a chat worker, Kafka with the audit consumer.
 *
 * Size: FAULT_MESSAGES_PER_FAULT (60 in CI; `npm run test:faults` uses 400), FAULT_DOWN_MS
 * (how long the component stays down), FAULT_ONLY (comma list of faults), FAULT_GATEWAYS,
 * FAULT_CHATS, FAULT_AUDITS (the topology: 2, 2, 1 by default).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOAD_ENV, REPO, eventually, freePort, gqlOk, register, spawnService, startSystem, type ServiceProcess, type Session, type System } from '../harness.js';
import { check, type Verdict } from './checker.js';
import { locateMissing, type Located } from './locate.js';
import { deleteUntilDone, markReadUntilDone, reactUntilDone, resilientSubscriber, sendUntilAcked, type Ack, type Gateways } from './load.js';
import { checkProduct, type ProductVerdict, type ReactionAck, type ReadAnswers, type RoomAsSeen } from './product-checker.js';
import { startPrivateInfra, type InfraService, type PrivateInfra } from './private-infra.js';

const SIZE = Number(process.env.FAULT_MESSAGES_PER_FAULT ?? 60);
const DOWN_MS = Number(process.env.FAULT_DOWN_MS ?? 2_000);
const ALL = ['redis', 'kafka', 'mongo', 'postgres', 'chat', 'audit', 'search', 'gateway', 'redis+chat', 'kafka+audit'] as const;
type Fault = (typeof ALL)[number];
const FAULTS = (process.env.FAULT_ONLY?.split(',') ?? [...ALL]) as Fault[];
const ROOMS_PER_FAULT = 3;
/** Topology: FAULT_GATEWAYS, FAULT_CHATS, FAULT_AUDITS (2, 2, 1; the scale-out size is 3, 2, 2). */
const GATEWAYS = Number(process.env.FAULT_GATEWAYS ?? 2);
const CHATS = Number(process.env.FAULT_CHATS ?? 2);
const AUDITS = Number(process.env.FAULT_AUDITS ?? 1);
const SENDERS = 4;
/** How long a fault's load may run (a full-size run of 2,000 messages takes minutes). */
const LOAD_MS = Math.max(180_000, SIZE * 200);

interface Row extends Verdict {
  fault: Fault;
  /** Where each event missing from the audit log is (outbox, topic, dead-letter, nowhere). */
  located: Located[];
  /** Reactions, threads, read positions and the search index after the fault (product-checker.ts). */
  product: ProductVerdict | undefined;
  recoverMs: number;
  durationMs: number;
}
const rows: Row[] = [];

/** `-` when nothing is missing from the audit log, else counts by location, e.g. `2 nowhere`. */
function whereSummary(located: Located[]): string {
  if (located.length === 0) return '-';
  const n = new Map<string, number>();
  for (const l of located) n.set(l.where, (n.get(l.where) ?? 0) + 1);
  return [...n].map(([w, k]) => `${k} ${w}`).join(', ');
}

describe(`fault suite (${SIZE} messages per fault, ${DOWN_MS} ms down)`, () => {
  let infra: PrivateInfra;
  let sys: System;
  let senders: Session[] = [];
  const live: string[] = [];
  const gateways: Gateways = { list: () => live };

  beforeAll(async () => {
    infra = await startPrivateInfra(26_380);
    sys = await startSystem({
      gateways: GATEWAYS,
      chats: CHATS,
      audits: AUDITS,
      searches: 1,
      // The audit reconciliation is off: the suite proves the normal path (outbox, relay, Kafka,
      // consumer) loses nothing by itself; the repair path has tests of its own.
      env: { ...infra.env, ...LOAD_ENV, COMMAND_TIMEOUT_MS: '6000', STARTUP_TIMEOUT_MS: '30000', PRESENCE_HEARTBEAT_MS: '2000', AUDIT_RECONCILE_INTERVAL_MS: '0' },
    });
    for (const g of sys.gateways) live.push(g.http.replace(/\/graphql$/, ''));
    senders = await Promise.all(Array.from({ length: SENDERS }, (_, i) => register(sys.gateways[i % GATEWAYS]!.http, `sender${i}_${sys.namespace.slice(4)}`, `Sender ${i}`)));
  }, 180_000);

  afterAll(async () => {
    await sys?.stop();
    // FAULT_KEEP_INFRA=1 leaves the private servers and their data for a post-mortem.
    if (process.env.FAULT_KEEP_INFRA === '1') console.log(`private infrastructure kept: ${JSON.stringify(infra?.env)}`);
    else await infra?.destroy();
    if (rows.length === 0) return;
    const head = ['fault', 'acked', 'stored', 'delivered', 'audited', 'dup', 'gaps', 'lost', 'pending', 'unaudited at', 'reactions', 'deleted', 'threads', 'read pos.', 'indexed', 'product ok', 'recover ms', 'run ms'];
    const table = rows.map((r) =>
      [
        r.fault, r.acknowledged, r.stored, `${r.delivered}/${r.expectedDeliveries}`, r.audited, r.duplicates, r.gaps, r.lostAcked, r.pendingOutbox, whereSummary(r.located),
        r.product?.reactions ?? '-', r.product?.deleted ?? '-', r.product?.threads ?? '-', r.product?.readPositions ?? '-', r.product?.indexed ?? '-', r.product ? (r.product.problems.length === 0 ? 'yes' : 'NO') : '-',
        r.recoverMs, r.durationMs,
      ].map(String),
    );
    const width = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i]!)).join('  ');
    console.log(['', line(head), ...table.map(line), ''].join('\n'));
    mkdirSync(`${REPO}artifacts`, { recursive: true });
    writeFileSync(`${REPO}artifacts/faults.json`, JSON.stringify({ size: SIZE, downMs: DOWN_MS, at: new Date().toISOString(), rows }, null, 2));
  });

  /** Kills the component with SIGKILL, keeps it down for DOWN_MS, starts it again. Returns when it is back. */
  async function inject(fault: Fault): Promise<void> {
    const restartProcess = async (name: 'chat' | 'audit' | 'search' | 'gateway', downMs = DOWN_MS) => {
      const victim = sys.procs.find((p) => p.name === name && p.child.exitCode === null && p.child.signalCode === null);
      if (!victim) throw new Error(`no live ${name}`);
      const gwIndex = sys.gateways.findIndex((g) => g.proc === victim);
      if (gwIndex >= 0) live.splice(live.indexOf(`http://127.0.0.1:${sys.gateways[gwIndex]!.port}`), 1);
      victim.child.kill('SIGKILL');
      await victim.exited;
      await new Promise((r) => setTimeout(r, downMs)); // the outage itself, part of the scenario
      const port = await freePort();
      const portVar = { gateway: 'PORT', chat: 'CHAT_PORT', audit: 'AUDIT_PORT', search: 'SEARCH_PORT' }[name];
      const next: ServiceProcess = spawnService(name, { ...sys.env, [portVar]: String(port) });
      sys.procs.push(next);
      await eventually(`${name} ready again`, async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 60_000).catch((e: unknown) => {
        // Its own words say why: the tail of what the restarted process printed.
        throw new Error(`${String(e)}; ${name} ${next.child.exitCode === null ? 'still running' : `exited ${next.child.exitCode}`}, its output ends:\n${next.output.join('').slice(-3_000)}`);
      });
      if (name === 'gateway') {
        sys.gateways[gwIndex] = { http: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql`, port, proc: next };
        live.push(`http://127.0.0.1:${port}`);
      }
    };
    if (fault === 'chat' || fault === 'audit' || fault === 'search' || fault === 'gateway') return restartProcess(fault);
    const outage = async (svc: InfraService) => {
      infra.kill(svc);
      await new Promise((r) => setTimeout(r, DOWN_MS)); // the outage itself
      await infra.start(svc);
    };
    // Two at the same moment: both killed in the same tick, both down for DOWN_MS.
    if (fault === 'redis+chat') return void (await Promise.all([outage('redis'), restartProcess('chat')]));
    if (fault === 'kafka+audit') return void (await Promise.all([outage('kafka'), restartProcess('audit')]));
    await outage(fault);
  }

  for (const fault of FAULTS) {
    it(`loses nothing and doubles nothing when ${fault} is killed and restarted`, async () => {
      const started = Date.now();
      const rooms = Array.from({ length: ROOMS_PER_FAULT }, (_, i) => `f-${fault.replace("+", "-and-")}-${i}`);
      for (const s of senders) for (const r of rooms) await gqlOk(sys.gateways[0]!.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, s.token);
      const subs = rooms.flatMap((r, i) => [0, 1].map((k) => resilientSubscriber(gateways, senders[(i + k) % SENDERS]!.token, r, k)));

      const acks: Ack[] = [];
      const reactions: ReactionAck[] = [];
      const reads = new Map<string, ReadAnswers>();
      /** Each room's first acknowledged message: the root its later replies go to. */
      const roots = new Map<string, string>();
      const deleted = new Set<string>();
      let injected: Promise<void> | undefined;
      let restartedAt = 0;
      let acksAtRestart = 0;
      let firstAckMs = -1;
      const deadline = Date.now() + LOAD_MS;
      await Promise.all(
        senders.map(async (s, si) => {
          // Load goes on until SIZE are acknowledged and a third of SIZE more after the restart.
          const more = () => acks.length < SIZE || restartedAt === 0 || acks.length < acksAtRestart + SIZE / 3;
          const mine = new Map<string, Ack[]>();
          for (let n = 0; more() && Date.now() < deadline; n++) {
            const room = rooms[(si + n) % rooms.length]!;
            // Every fifth message a reply in the room's thread; the product layer rides along:
            // every third a reaction to a message of the room, every seventh a markRead.
            const ack = await sendUntilAcked(gateways, s.token, room, `${fault} #${n} from ${si}`, deadline, undefined, n % 5 === 4 ? roots.get(room) : undefined);
            if (!ack) continue;
            acks.push(ack);
            if (!roots.has(room) && n % 5 !== 4) roots.set(room, ack.id);
            // Each sender reacts to and deletes only its own messages (never a thread's root),
            // so that no reaction meets a message another sender just deleted.
            const own = mine.get(room) ?? [];
            mine.set(room, own);
            if (n % 11 === 6 && ack.id !== roots.get(room)) {
              if (await deleteUntilDone(gateways, s.token, ack.id, deadline)) deleted.add(ack.id);
            } else own.push(ack);
            if (n % 3 === 1 && own.length > 0) {
              const target = own[(n * 7919) % own.length]!;
              const emoji = n % 2 ? '👍' : '🎉';
              if (await reactUntilDone(gateways, s.token, target.id, emoji, deadline)) reactions.push({ message: target.id, emoji, user: s.user.id });
            }
            if (n % 7 === 3) {
              const at = await markReadUntilDone(gateways, s.token, room, ack.seq, deadline);
              const key = `${s.user.id}/${room}`;
              if (!reads.has(key)) reads.set(key, { user: s.user.id, room, answers: [] });
              if (at !== undefined) reads.get(key)!.answers.push(at);
            }
            if (restartedAt > 0 && firstAckMs < 0) firstAckMs = Date.now() - restartedAt;
            if (acks.length % Math.max(5, Math.floor(SIZE / 6)) === 0) subs[acks.length % subs.length]!.bounce();
            if (!injected && acks.length >= SIZE / 3) {
              injected = inject(fault).then(() => {
                restartedAt = Date.now();
                acksAtRestart = acks.length;
              });
            }
          }
        }),
      );
      await injected;
      // What the API says of each sender's rooms now (read positions and unread counts).
      const seenNow = async (): Promise<RoomAsSeen[]> =>
        Promise.all(
          senders.flatMap((s) =>
            rooms.map(async (room) => {
              const d = await gqlOk<{ room: { unread: number; lastReadSeq: number } }>(`${live[0]!}/graphql`, 'query($r: ID!) { room(id: $r) { unread lastReadSeq } }', { r: room }, s.token);
              return { user: s.user.id, room, ...d.room };
            }),
          ),
        );
      // The product layer settles after the messages (the search indexer, the recounts): its
      // invariants are checked once the messages are, until they hold or a minute passed.
      const settleProduct = async (): Promise<ProductVerdict> => {
        let last: ProductVerdict = { reactions: 0, deleted: 0, threads: 0, readPositions: 0, indexed: 0, problems: ['the product check never completed'] };
        const once = async () =>
          (last = await checkProduct({ mongoUrl: infra.env.MONGO_URL, db: sys.namespace, searchPgUrl: infra.env.SEARCH_PG_URL, searchSchema: sys.namespace, rooms, reactions, deleted: [...deleted], reads: [...reads.values()], seen: await seenNow() }));
        return eventually('the product layer to settle', async () => ((await once()).problems.length === 0 ? last : undefined), 60_000).catch(() => last);
      };
      let product: ProductVerdict | undefined;
      // Quiesce: every subscriber caught up, the audit log complete, the outbox empty.
      let settledAt = -1;
      let verdict = await check(infra.env.MONGO_URL, sys.namespace, rooms, acks, subs.map((s) => s.rec));
      try {
        verdict = await eventually('the system to settle with nothing missing', async () => {
          const v = await check(infra.env.MONGO_URL, sys.namespace, rooms, acks, subs.map((s) => s.rec));
          verdict = v;
          return v.problems.length === 0 ? v : undefined;
        }, 90_000);
        settledAt = Date.now();
        product = await settleProduct();
        verdict.problems.push(...product.problems);
      } finally {
        await Promise.all(subs.map((s) => s.stop()));
        const located = await locateMissing(infra.env.MONGO_URL, sys.namespace, [infra.env.KAFKA_BROKERS], sys.namespace, verdict.missingFromAudit).catch(
          (e: unknown): Located[] => verdict.missingFromAudit.map((id) => ({ id, where: 'nowhere', detail: `could not be located: ${String(e)}` })),
        );
        for (const l of located) verdict.problems.push(`${l.id} missing from the audit log is ${l.where === 'nowhere' ? 'nowhere' : `in the ${l.where}`}: ${l.detail}`);
        // Time to recover: from the restart until everything is consistent again (delivered,
        // audited, outbox empty), and no earlier than the first acknowledged send after it.
        if (verdict.problems.length > 0) {
          // The services' own words, for whoever reads the failure (artifacts/faults-logs/).
          const dir = `${REPO}artifacts/faults-logs`;
          mkdirSync(dir, { recursive: true });
          sys.procs.forEach((p, i) => writeFileSync(`${dir}/${fault}-${i}-${p.name}.log`, p.output.join('')));
        }
        rows.push({ fault, ...verdict, product, located, recoverMs: settledAt < 0 ? -1 : Math.max(firstAckMs, settledAt - restartedAt), durationMs: Date.now() - started });
      }
      expect(verdict.problems).toEqual([]);
      expect(verdict.acknowledged).toBeGreaterThanOrEqual(SIZE);
      expect(verdict.lostAcked).toBe(0);
    }, LOAD_MS + 240_000);
  }
});

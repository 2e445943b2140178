/**
 * The fault suite: steady load (senders into several rooms through two gateways, subscribers
 * on both gateways that drop and resume with `after`) while one component at a time is killed
 * with SIGKILL and restarted. An independent checker then proves nothing acknowledged was
 * lost or doubled, every subscriber saw its room exactly once in order, and the audit log
 * holds every message once with nothing left in the outbox.
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
import { resilientSubscriber, sendUntilAcked, type Ack, type Gateways } from './load.js';
import { startPrivateInfra, type InfraService, type PrivateInfra } from './private-infra.js';

const SIZE = Number(process.env.FAULT_MESSAGES_PER_FAULT ?? 60);
const DOWN_MS = Number(process.env.FAULT_DOWN_MS ?? 2_000);
const ALL = ['redis', 'kafka', 'mongo', 'postgres', 'chat', 'audit', 'gateway'] as const;
type Fault = (typeof ALL)[number];
const FAULTS = (process.env.FAULT_ONLY?.split(',') ?? [...ALL]) as Fault[];
const ROOMS_PER_FAULT = 3;
/** Topology: FAULT_GATEWAYS, FAULT_CHATS, FAULT_AUDITS (2, 2, 1; the scale-out size is 3, 2, 2). */
const GATEWAYS = Number(process.env.FAULT_GATEWAYS ?? 2);
const CHATS = Number(process.env.FAULT_CHATS ?? 2);
const AUDITS = Number(process.env.FAULT_AUDITS ?? 1);
const SENDERS = 4;

interface Row extends Verdict {
  fault: Fault;
  /** Where each event missing from the audit log is (outbox, topic, dead-letter, nowhere). */
  located: Located[];
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
    const head = ['fault', 'acked', 'stored', 'delivered', 'audited', 'dup', 'gaps', 'lost', 'pending', 'unaudited at', 'recover ms', 'run ms'];
    const table = rows.map((r) => [r.fault, r.acknowledged, r.stored, `${r.delivered}/${r.expectedDeliveries}`, r.audited, r.duplicates, r.gaps, r.lostAcked, r.pendingOutbox, whereSummary(r.located), r.recoverMs, r.durationMs].map(String));
    const width = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i]!)).join('  ');
    console.log(['', line(head), ...table.map(line), ''].join('\n'));
    mkdirSync(`${REPO}artifacts`, { recursive: true });
    writeFileSync(`${REPO}artifacts/faults.json`, JSON.stringify({ size: SIZE, downMs: DOWN_MS, at: new Date().toISOString(), rows }, null, 2));
  });

  /** Kills the component with SIGKILL, keeps it down for DOWN_MS, starts it again. Returns when it is back. */
  async function inject(fault: Fault): Promise<void> {
    const restartProcess = async (name: 'chat' | 'audit' | 'gateway') => {
      const victim = sys.procs.find((p) => p.name === name && p.child.exitCode === null && p.child.signalCode === null);
      if (!victim) throw new Error(`no live ${name}`);
      const gwIndex = sys.gateways.findIndex((g) => g.proc === victim);
      if (gwIndex >= 0) live.splice(live.indexOf(`http://127.0.0.1:${sys.gateways[gwIndex]!.port}`), 1);
      victim.child.kill('SIGKILL');
      await victim.exited;
      await new Promise((r) => setTimeout(r, DOWN_MS)); // the outage itself, part of the scenario
      const port = await freePort();
      const portVar = name === 'gateway' ? 'PORT' : name === 'chat' ? 'CHAT_PORT' : 'AUDIT_PORT';
      const next: ServiceProcess = spawnService(name, { ...sys.env, [portVar]: String(port) });
      sys.procs.push(next);
      await eventually(`${name} ready again`, async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 60_000);
      if (name === 'gateway') {
        sys.gateways[gwIndex] = { http: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql`, port, proc: next };
        live.push(`http://127.0.0.1:${port}`);
      }
    };
    if (fault === 'chat' || fault === 'audit' || fault === 'gateway') return restartProcess(fault);
    const svc: InfraService = fault;
    infra.kill(svc);
    await new Promise((r) => setTimeout(r, DOWN_MS)); // the outage itself
    await infra.start(svc);
  }

  for (const fault of FAULTS) {
    it(`loses nothing and doubles nothing when ${fault} is killed and restarted`, async () => {
      const started = Date.now();
      const rooms = Array.from({ length: ROOMS_PER_FAULT }, (_, i) => `f-${fault}-${i}`);
      for (const s of senders) for (const r of rooms) await gqlOk(sys.gateways[0]!.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, s.token);
      const subs = rooms.flatMap((r, i) => [0, 1].map((k) => resilientSubscriber(gateways, senders[(i + k) % SENDERS]!.token, r, k)));

      const acks: Ack[] = [];
      let injected: Promise<void> | undefined;
      let restartedAt = 0;
      let acksAtRestart = 0;
      let firstAckMs = -1;
      const deadline = Date.now() + 180_000;
      await Promise.all(
        senders.map(async (s, si) => {
          // Load goes on until SIZE are acknowledged and a third of SIZE more after the restart.
          const more = () => acks.length < SIZE || restartedAt === 0 || acks.length < acksAtRestart + SIZE / 3;
          for (let n = 0; more() && Date.now() < deadline; n++) {
            const ack = await sendUntilAcked(gateways, s.token, rooms[(si + n) % rooms.length]!, `${fault} #${n} from ${si}`, deadline);
            if (!ack) continue;
            acks.push(ack);
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
        rows.push({ fault, ...verdict, located, recoverMs: settledAt < 0 ? -1 : Math.max(firstAckMs, settledAt - restartedAt), durationMs: Date.now() - started });
      }
      expect(verdict.problems).toEqual([]);
      expect(verdict.acknowledged).toBeGreaterThanOrEqual(SIZE);
      expect(verdict.lostAcked).toBe(0);
    }, 360_000);
  }
});

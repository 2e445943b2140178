/**
 * The soak (issue 17): steady mixed load for SOAK_MINUTES (30 by default; CI runs 1) in the
 * shape of bench S3 — many rooms, a few subscribers each, sends round-robin over the rooms —
 * with reads (a messages page, the inbox), edits, reactions (react and unreact), joins and
 * leaves, and subscribers that drop on purpose and resume with `after`, every request retried
 * as a client does (faults/load.ts). Every service process's RSS (/proc) and heap used (its
 * /metrics) is sampled throughout.
 *
 * Checked at every size (correctness does not depend on the size): nothing acknowledged lost,
 * nothing stored or delivered twice, every subscriber saw its room exactly once in order
 * (faults/checker.ts), the outbox drained, every message audited once; the reactions shown
 * equal the active rows in the `reactions` collection and what the clients did; edits and
 * memberships are what the clients last did; no request gave up; the audit reconciliation (on,
 * as in production) never had to hand back an event the normal path lost.
 *
 * Asserted at full size only (SOAK_MINUTES ≥ 30, or SOAK_ASSERT=1), reported always: no
 * process's memory grows over the last 2/3 of the load (`memoryGrowth` in figures.ts: its live
 * heap, i.e. heap used after each major GC, and its anonymous RSS outside the V8 heap (RssAnon − the
 * heap's resident pages; the binary's code pages, file-backed, are reported only) each rise no faster
 * than would double them in SOAK_DOUBLING_HOURS (24), unless the line does not fit or its rise
 * over the window is within the series' noise in the first third (its noise floor); RSS and
 * heap used as sampled are reported beside them, least squares in MB/min); the p99 of send → delivered
 * of the last window (5 minutes, or a fifth of a shorter run) is within 1.5 × the first's. A
 * one-minute run is warm-up for most of its window (caches filling, JIT, pools): its slopes
 * say nothing about a leak, so asserting them would only make CI flaky.
 *
 * Size: SOAK_RATE sends/s (4; S3 runs 500 and its half, 250, is beyond what one chat worker on
 * FerretDB sustains on 2 cores, docs/performance.md), SOAK_ROOMS (200), SOAK_PER_ROOM
 * subscribers per room (3), SOAK_SENDERS (8); per send SOAK_READS (1) reads, SOAK_EDITS (0.2)
 * edits, SOAK_REACTIONS (0.5) reactions, SOAK_JOINS (0.05) joins/leaves; SOAK_BOUNCES_PER_S
 * subscriber drops a second (0.5); SOAK_SAMPLE_MS (the memory sampling period).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOAD_ENV, REPO, eventually, gqlOk, register, startSystem, type Session, type System } from '../harness.js';
import { check, type Verdict } from '../faults/checker.js';
import { requestUntilDone, resilientSubscriber, sendUntilAcked, type Ack, type Gateways } from '../faults/load.js';
import { scrape, sum } from '../metrics-text.js';
import { GROWTH_MIN_R2, MIN_MAJOR_GCS, memoryGrowth, percentile, sampleMemory, table, type ProcessSeries, type SeriesFit } from './figures.js';

const env = (k: string, d: number) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const MINUTES = env('SOAK_MINUTES', 30);
const DURATION_MS = Math.round(MINUTES * 60_000);
const RATE = env('SOAK_RATE', 4);
const ROOMS = env('SOAK_ROOMS', 200);
const PER_ROOM = env('SOAK_PER_ROOM', 3);
const SENDERS = env('SOAK_SENDERS', 8);
const JOINERS = 4;
const READS = env('SOAK_READS', 1);
const EDITS = env('SOAK_EDITS', 0.2);
const REACTIONS = env('SOAK_REACTIONS', 0.5);
const JOINS = env('SOAK_JOINS', 0.05);
const BOUNCES_PER_S = env('SOAK_BOUNCES_PER_S', 0.5);
const SAMPLE_MS = env('SOAK_SAMPLE_MS', Math.min(10_000, Math.max(1_000, Math.round(DURATION_MS / 90))));
const DOUBLING_HOURS = env('SOAK_DOUBLING_HOURS', 24);
const FULL_SIZE = process.env.SOAK_ASSERT ? process.env.SOAK_ASSERT === '1' : MINUTES >= 30;
/** The latency windows: the five minutes, or a fifth of a shorter run. */
const WINDOW_MS = Math.min(5 * 60_000, DURATION_MS / 5);
/** A request that is not done after this has given up (a failure at any size). */
const GIVE_UP_MS = 120_000;
/** Requests in flight at most; a tick beyond it is counted as skipped (the system is not keeping up). */
const MAX_IN_FLIGHT = 256;
const EMOJI = ['👍', '🎉', ':soak:'];

interface SentAck extends Ack {
  sentAt: number;
  author: number;
}

/** Per kind of request: how many were done, retried (by code), gave up, and their latencies. */
class Op {
  done = 0;
  gaveUp = 0;
  skipped = 0;
  retries: Record<string, number> = {};
  ms: number[] = [];
  onRetry = (code: string) => {
    this.retries[code] = (this.retries[code] ?? 0) + 1;
  };
  summary() {
    return { done: this.done, gaveUp: this.gaveUp, skipped: this.skipped, retries: this.retries, p50Ms: percentile(this.ms, 50), p99Ms: percentile(this.ms, 99) };
  }
}

describe(`soak (${MINUTES} min at ${RATE} sends/s, ${ROOMS} rooms × ${PER_ROOM} subscribers)`, () => {
  let sys: System;
  let senders: Session[] = [];
  let joiners: Session[] = [];
  const live: string[] = [];
  const gateways: Gateways = { list: () => live };
  const rooms = Array.from({ length: ROOMS }, (_, i) => `soak-${i}`);
  /** The two senders who are members of room r (and send, edit and react in it). */
  const membersOf = (r: number) => [r % SENDERS, (r + 1) % SENDERS];

  beforeAll(async () => {
    sys = await startSystem({
      gateways: 1,
      chats: 1,
      audits: 1,
      searches: 1,
      env: { ...LOAD_ENV, PRESENCE_HEARTBEAT_MS: '10000', STARTUP_TIMEOUT_MS: '30000' },
    });
    for (const g of sys.gateways) live.push(g.http.replace(/\/graphql$/, ''));
    const gw = sys.gateways[0]!.http;
    const tag = sys.namespace.slice(4);
    senders = await Promise.all(Array.from({ length: SENDERS }, (_, i) => register(gw, `soaks${i}_${tag}`, `Soak sender ${i}`)));
    joiners = await Promise.all(Array.from({ length: JOINERS }, (_, i) => register(gw, `soakj${i}_${tag}`, `Soak joiner ${i}`)));
    const joins = rooms.flatMap((room, r) => membersOf(r).map((s) => ({ room, s })));
    for (let i = 0; i < joins.length; i += 8) {
      await Promise.all(
        joins.slice(i, i + 8).map(({ room, s }) => gqlOk(gw, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, senders[s]!.token)),
      );
    }
  }, 300_000);

  afterAll(async () => {
    await sys?.stop();
  });

  it('loses nothing, doubles nothing, keeps its memory and its latency', async () => {
    const deadline = () => Date.now() + GIVE_UP_MS;
    const problems: string[] = [];
    const subs = rooms.flatMap((room, r) => Array.from({ length: PER_ROOM }, (_, k) => resilientSubscriber(gateways, senders[(r + k) % SENDERS]!.token, room, k)));
    const subsOf = new Map<string, typeof subs>();
    for (const s of subs) subsOf.set(s.rec.room, [...(subsOf.get(s.rec.room) ?? []), s]);
    const acks: SentAck[] = [];
    const recent = new Map<number, SentAck[]>(); // room index → its last 20 acknowledged messages
    const ops = { send: new Op(), read: new Op(), edit: new Op(), react: new Op(), join: new Op(), bounce: new Op() };

    const send = async (r: number, author: number, body: string) => {
      const sentAt = Date.now();
      const ack = await sendUntilAcked(gateways, senders[author]!.token, rooms[r]!, body, deadline(), ops.send.onRetry);
      if (!ack) return void ops.send.gaveUp++;
      ops.send.done++;
      ops.send.ms.push(Date.now() - sentAt);
      const a = { ...ack, sentAt, author };
      acks.push(a);
      const list = recent.get(r) ?? [];
      list.push(a);
      if (list.length > 20) list.shift();
      recent.set(r, list);
    };

    // Warm-up and readiness: one message per room, and every subscriber has it.
    for (let r = 0; r < ROOMS; r += 16) await Promise.all(rooms.slice(r, r + 16).map((_, k) => send(r + k, membersOf(r + k)[0]!, `hello ${r + k}`)));
    await eventually('every subscriber to receive its room\'s first message', () => (subs.every((s) => s.rec.seqs.length >= 1) ? true : undefined), 120_000);

    // ---- the load ---------------------------------------------------------------------
    const inFlight = new Set<Promise<void>>();
    const chains = new Map<string, Promise<void>>();
    /** Runs `fn` after the previous request on `key` (a message's edits, one reaction, one membership), so the last acknowledged one is the state. */
    const chained = (key: string, fn: () => Promise<void>) => {
      // A failed request is a problem of its own (reported by the caller); the next one still runs.
      const next = (chains.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
      chains.set(key, next);
      next.finally(() => chains.get(key) === next && chains.delete(key)).catch(() => undefined);
      return next;
    };
    const loadStart = Date.now();
    const loadEnd = loadStart + DURATION_MS;
    const sampler = sampleMemory(sys.procs, loadStart, SAMPLE_MS);
    const paced = async (perSecond: number, op: Op, fn: (i: number) => Promise<void>) => {
      if (perSecond <= 0) return;
      for (let i = 0; ; i++) {
        const due = loadStart + (i * 1_000) / perSecond;
        if (due >= loadEnd) return;
        // The pacing of the load itself.
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        if (inFlight.size >= MAX_IN_FLIGHT) {
          op.skipped++;
          continue;
        }
        const p = fn(i).catch((e: unknown) => void problems.push(`${String(e)}`));
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
    };
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
    const timed = async (op: Op, fn: () => Promise<unknown>) => {
      const t0 = Date.now();
      if ((await fn()) === undefined) return void op.gaveUp++;
      op.done++;
      op.ms.push(Date.now() - t0);
    };

    /** Expected state from the clients' acknowledged requests; keys whose last request gave up are uncertain. */
    const reacted = new Map<string, boolean>(); // `${message}|${emoji}|${sender}`
    const edited = new Map<string, string>(); // message id → last body
    const joined = new Map<string, boolean>(); // `${joiner}|${room}`
    const uncertain = new Set<string>();

    await Promise.all([
      paced(RATE, ops.send, (i) => {
        const r = i % ROOMS;
        const m = membersOf(r);
        return send(r, m[Math.floor(i / ROOMS) % 2]!, `soak #${i} into ${rooms[r]}`);
      }),
      paced(RATE * READS, ops.read, (i) => {
        const r = Math.floor(Math.random() * ROOMS);
        const who = senders[pick(membersOf(r))]!.token;
        return i % 2 === 0
          ? timed(ops.read, () => requestUntilDone(gateways, who, 'query($r: ID!) { messages(room: $r, limit: 50) { messages { seq body reactions { emoji count } } hasMore } }', { r: rooms[r] }, deadline(), ops.read.onRetry))
          : timed(ops.read, () => requestUntilDone(gateways, who, 'query { inbox(limit: 50) { rooms { id unread lastMessage { seq } } unreadTotal } }', {}, deadline(), ops.read.onRetry));
      }),
      paced(RATE * EDITS, ops.edit, async (i) => {
        const target = recent.get(Math.floor(Math.random() * ROOMS));
        if (!target?.length) return;
        const a = pick(target);
        await chained(`edit|${a.id}`, async () => {
          const body = `edited ${i}`;
          const t0 = Date.now();
          const d = await requestUntilDone(gateways, senders[a.author]!.token, 'mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { id } }', { id: a.id, b: body }, deadline(), ops.edit.onRetry);
          if (!d) {
            ops.edit.gaveUp++;
            uncertain.add(a.id);
            return;
          }
          ops.edit.done++;
          ops.edit.ms.push(Date.now() - t0);
          edited.set(a.id, body);
        });
      }),
      paced(RATE * REACTIONS, ops.react, async () => {
        const r = Math.floor(Math.random() * ROOMS);
        const target = recent.get(r);
        if (!target?.length) return;
        const a = pick(target);
        const who = pick(membersOf(r));
        const emoji = pick(EMOJI);
        const key = `${a.id}|${emoji}|${who}`;
        await chained(key, async () => {
          const on = !reacted.get(key);
          const t0 = Date.now();
          const d = await requestUntilDone(gateways, senders[who]!.token, `mutation($id: ID!, $e: String!) { ${on ? 'react' : 'unreact'}(messageId: $id, emoji: $e) { id } }`, { id: a.id, e: emoji }, deadline(), ops.react.onRetry);
          if (!d) {
            ops.react.gaveUp++;
            uncertain.add(a.id);
            return;
          }
          ops.react.done++;
          ops.react.ms.push(Date.now() - t0);
          reacted.set(key, on);
        });
      }),
      paced(RATE * JOINS, ops.join, async () => {
        const j = Math.floor(Math.random() * JOINERS);
        const room = pick(rooms);
        const key = `${j}|${room}`;
        await chained(key, async () => {
          const on = !joined.get(key);
          const t0 = Date.now();
          const d = on
            ? await requestUntilDone(gateways, joiners[j]!.token, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, deadline(), ops.join.onRetry)
            : await requestUntilDone(gateways, joiners[j]!.token, 'mutation($r: ID!) { leaveRoom(room: $r) }', { r: room }, deadline(), ops.join.onRetry);
          if (!d) {
            ops.join.gaveUp++;
            uncertain.add(key);
            return;
          }
          ops.join.done++;
          ops.join.ms.push(Date.now() - t0);
          joined.set(key, on);
        });
      }),
      paced(BOUNCES_PER_S, ops.bounce, () => {
        pick(subs).bounce();
        ops.bounce.done++;
        return Promise.resolve();
      }),
    ]);
    await Promise.all([...inFlight]);
    const loadMs = Date.now() - loadStart;
    await sampler.stop();

    // ---- settle and check -----------------------------------------------------------------
    let verdict: Verdict | undefined;
    const settleStart = Date.now();
    try {
      verdict = await eventually('the system to settle with nothing missing', async () => {
        verdict = await check(sys.env.MONGO_URL!, sys.namespace, rooms, acks, subs.map((s) => s.rec));
        return verdict.problems.length === 0 ? verdict : undefined;
      }, 180_000);
    } catch (e) {
      problems.push(String(e));
    }
    const settleMs = Date.now() - settleStart;
    await Promise.all(subs.map((s) => s.stop()));

    // What the API shows of every message (bodies, reaction counts), page by page.
    const shown = new Map<string, { body: string; reactions: Map<string, number> }>();
    const gw = sys.gateways[0]!.http;
    for (let r = 0; r < ROOMS; r += 4) {
      await Promise.all(
        rooms.slice(r, r + 4).map(async (room, k) => {
          const token = senders[membersOf(r + k)[0]!]!.token;
          for (let after = 0; ; ) {
            const page = await gqlOk<{ messages: { messages: { id: string; seq: number; body: string; reactions: { emoji: string; count: number }[] }[]; hasMore: boolean } }>(
              gw,
              'query($r: ID!, $a: Int) { messages(room: $r, after: $a, limit: 100) { messages { id seq body reactions { emoji count } } hasMore } }',
              { r: room, a: after },
              token,
            );
            for (const m of page.messages.messages) shown.set(m.id, { body: m.body, reactions: new Map(m.reactions.map((x) => [x.emoji, x.count])) });
            if (!page.messages.hasMore || page.messages.messages.length === 0) break;
            after = page.messages.messages.at(-1)!.seq;
          }
        }),
      );
    }
    const mongo = await MongoClient.connect(sys.env.MONGO_URL!);
    const rows = new Map<string, Map<string, number>>();
    const memberships = new Map<string, boolean>();
    try {
      const db = mongo.db(sys.namespace);
      for (const row of await db.collection<{ message: string; emoji: string }>('reactions').find({ active: true }, { projection: { message: 1, emoji: 1 } }).toArray()) {
        const m = rows.get(row.message) ?? new Map<string, number>();
        m.set(row.emoji, (m.get(row.emoji) ?? 0) + 1);
        rows.set(row.message, m);
      }
      const ids = joiners.map((j) => j.user.id);
      for (const m of await db.collection<{ room: string; user: string; active: boolean }>('memberships').find({ user: { $in: ids } }, { projection: { room: 1, user: 1, active: 1 } }).toArray()) {
        memberships.set(`${ids.indexOf(m.user)}|${m.room}`, m.active);
      }
    } finally {
      await mongo.close();
    }
    const expectedReactions = new Map<string, Map<string, number>>();
    for (const [key, on] of reacted) {
      if (!on) continue;
      const [id, emoji] = key.split('|') as [string, string];
      const m = expectedReactions.get(id) ?? new Map<string, number>();
      m.set(emoji, (m.get(emoji) ?? 0) + 1);
      expectedReactions.set(id, m);
    }
    const counts = (m: Map<string, number> | undefined) => JSON.stringify([...(m ?? new Map<string, number>())].filter(([, n]) => n > 0).sort());
    let reactionMismatches = 0;
    for (const id of new Set([...rows.keys(), ...expectedReactions.keys(), ...[...shown].filter(([, s]) => s.reactions.size > 0).map(([id]) => id)])) {
      const dbRows = counts(rows.get(id));
      const api = counts(shown.get(id)?.reactions);
      const want = counts(expectedReactions.get(id));
      if (dbRows !== api || (!uncertain.has(id) && dbRows !== want)) {
        reactionMismatches++;
        if (reactionMismatches <= 5) problems.push(`message ${id}: reactions shown ${api}, active rows ${dbRows}, the clients' ${want}`);
      }
    }
    let editMismatches = 0;
    for (const [id, body] of edited) {
      if (uncertain.has(id) || shown.get(id)?.body === body) continue;
      if (++editMismatches <= 5) problems.push(`message ${id}: body ${JSON.stringify(shown.get(id)?.body)}, last edit ${JSON.stringify(body)}`);
    }
    let membershipMismatches = 0;
    for (const [key, on] of joined) {
      if (uncertain.has(key) || (memberships.get(key) ?? false) === on) continue;
      if (++membershipMismatches <= 5) problems.push(`joiner|room ${key}: membership ${String(memberships.get(key))}, the client's last request ${on ? 'join' : 'leave'}`);
    }
    // The reconciliation runs as in production (every 60 s); it must never have had to repair the normal path.
    let republished: number | undefined;
    for (const p of sys.procs.filter((x) => x.name === 'audit')) {
      republished = (republished ?? 0) + (sum(await scrape(p.port!), 'conversa_audit_reconcile_republished_total') ?? 0);
    }
    if (republished) problems.push(`the audit reconciliation handed back ${republished} events the normal path lost`);
    for (const [kind, op] of Object.entries(ops)) if (op.gaveUp > 0) problems.push(`${op.gaveUp} ${kind} requests gave up after ${GIVE_UP_MS} ms`);

    // ---- figures --------------------------------------------------------------------------
    const windowFrom = DURATION_MS / 3;
    const memory = sampler.series.map((s: ProcessSeries) => {
      const w = s.samples.filter((x) => x.t >= windowFrom && x.t <= DURATION_MS);
      const g = memoryGrowth(w, DOUBLING_HOURS, s.samples.filter((x) => x.t >= 0 && x.t < windowFrom));
      const round = (x: number, d = 3) => +x.toFixed(d);
      const fitOf = (f: SeriesFit | null) => f && { slopeMBPerMin: round(f.slope), r2: round(f.r2, 2), points: f.n, boundMBPerMin: round(f.bound), riseMB: round(f.rise, 2), noiseFloorMB: round(f.floor, 2), grows: f.grows };
      const ends = (k: 'rssMB' | 'rssFileMB' | 'heapMB' | 'heapTotalMB' | 'liveHeapMB') => {
        const has = w.filter((x) => x[k] !== undefined);
        return has.length ? `${round(has[0]![k]!, 1)} → ${round(has.at(-1)![k]!, 1)}` : '-';
      };
      return {
        process: s.name,
        pid: s.pid,
        samples: w.length,
        rss: { mb: ends('rssMB'), ...fitOf(g.rss)! },
        rssFileMB: ends('rssFileMB'),
        heap: { mb: ends('heapMB'), ...fitOf(g.heap)! },
        heapTotalMB: ends('heapTotalMB'),
        liveHeap: { mb: ends('liveHeapMB'), majorGcs: g.majorGcs, fit: fitOf(g.liveHeap) },
        offHeap: fitOf(g.offHeap),
        grows: g.grows,
      };
    });
    // send → delivered, per acknowledged load send and subscriber of its room (the subscriber's
    // arrival time of that seq, whether live or replayed after a drop), by when it was sent.
    const first: number[] = [];
    const last: number[] = [];
    const all: number[] = [];
    for (const a of acks) {
      const t = a.sentAt - loadStart;
      if (t < 0) continue; // warm-up
      for (const s of subsOf.get(a.room) ?? []) {
        if (s.rec.seqs[a.seq - 1] !== a.seq) continue; // the checker reports it
        const at = s.rec.times?.[a.seq - 1];
        if (at === undefined) continue;
        const ms = at - a.sentAt;
        all.push(ms);
        if (t < WINDOW_MS) first.push(ms);
        if (t >= DURATION_MS - WINDOW_MS) last.push(ms);
      }
    }
    const latency = {
      windowMs: WINDOW_MS,
      deliveries: all.length,
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      firstWindow: { deliveries: first.length, p50Ms: percentile(first, 50), p99Ms: percentile(first, 99) },
      lastWindow: { deliveries: last.length, p50Ms: percentile(last, 50), p99Ms: percentile(last, 99) },
      p99Ratio: +(percentile(last, 99) / percentile(first, 99)).toFixed(2),
    };
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
    const figures = {
      at: new Date().toISOString(),
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
      minutes: MINUTES,
      fullSize: FULL_SIZE,
      config: { rate: RATE, rooms: ROOMS, perRoom: PER_ROOM, senders: SENDERS, joiners: JOINERS, reads: READS, edits: EDITS, reactions: REACTIONS, joins: JOINS, bouncesPerS: BOUNCES_PER_S, sampleMs: SAMPLE_MS, doublingHours: DOUBLING_HOURS },
      loadMs,
      settleMs,
      achievedSendsPerS: +((acks.filter((a) => a.sentAt >= loadStart).length * 1_000) / loadMs).toFixed(2),
      ops: Object.fromEntries(Object.entries(ops).map(([k, o]) => [k, o.summary()])),
      resumes: subs.reduce((a, s) => a + s.rec.resumes, 0),
      auditRepublished: republished,
      verdict: verdict && { ...verdict, missingFromAudit: verdict.missingFromAudit.length },
      reactions: { messagesWithReactions: rows.size, activeRows: [...rows.values()].reduce((a, m) => a + [...m.values()].reduce((x, y) => x + y, 0), 0), mismatches: reactionMismatches },
      edits: { edited: edited.size, mismatches: editMismatches },
      memberships: { toggled: joined.size, mismatches: membershipMismatches },
      latency,
      memory,
      problems,
      samples: sampler.series,
    };
    mkdirSync(`${REPO}artifacts`, { recursive: true });
    writeFileSync(`${REPO}artifacts/soak.json`, JSON.stringify(figures, null, 2));
    const v = verdict;
    console.log(
      [
        '',
        `soak: ${MINUTES} min at ${RATE} sends/s offered (${figures.achievedSendsPerS}/s acknowledged), ${ROOMS} rooms × ${PER_ROOM} subscribers, commit ${figures.commit}${figures.dirty ? ' (dirty)' : ''}; ${FULL_SIZE ? 'full size: bounds asserted' : 'not full size: slopes and latency reported, not asserted'}`,
        table(
          ['acked', 'stored', 'delivered', 'audited', 'dup', 'gaps', 'lost', 'outbox', 'reaction rows', 'reaction ≠', 'edits ≠', 'joins ≠', 'resumes', 'settle ms'],
          [[v?.acknowledged ?? '-', v?.stored ?? '-', v ? `${v.delivered}/${v.expectedDeliveries}` : '-', v?.audited ?? '-', v?.duplicates ?? '-', v?.gaps ?? '-', v?.lostAcked ?? '-', v?.pendingOutbox ?? '-', figures.reactions.activeRows, reactionMismatches, editMismatches, membershipMismatches, figures.resumes, settleMs]],
        ),
        '',
        table(
          ['request', 'done', 'retried', 'gave up', 'skipped', 'p50 ms', 'p99 ms'],
          Object.entries(ops).map(([k, o]) => [k, o.done, Object.entries(o.retries).map(([c, n]) => `${c} ${n}`).join(', ') || '0', o.gaveUp, o.skipped, percentile(o.ms, 50) || '-', percentile(o.ms, 99) || '-']),
        ),
        '',
        table(
          ['send → delivered', 'deliveries', 'p50 ms', 'p99 ms'],
          [
            [`first ${Math.round(WINDOW_MS / 1000)} s`, first.length, latency.firstWindow.p50Ms, latency.firstWindow.p99Ms],
            [`last ${Math.round(WINDOW_MS / 1000)} s`, last.length, latency.lastWindow.p50Ms, latency.lastWindow.p99Ms],
            ['whole load', all.length, latency.p50Ms, latency.p99Ms],
          ],
        ) + `\np99 last / first = ${latency.p99Ratio} (bound 1.5${FULL_SIZE ? '' : ', reported only'})`,
        '',
        `memory over the last 2/3 of the load (${Math.round(windowFrom / 1000)}–${Math.round(DURATION_MS / 1000)} s), MB and least-squares slopes in MB/min (R²); growth: a slope over the bound (doubling in ${DOUBLING_HOURS} h) with R² ≥ ${GROWTH_MIN_R2} and a rise over the window above the series' noise floor in the warm-up (rise/floor MB), judged on the live heap (heap used after each major GC; heap used when fewer than ${MIN_MAJOR_GCS}) and on anonymous RSS outside the V8 heap (RssAnon − the heap's resident pages; file-backed RSS, the binary's code, reported)${FULL_SIZE ? '' : ' (reported only)'}`,
        table(
          ['process', 'RSS', 'slope (R²)', 'file-backed', 'heap used', 'slope (R²)', 'heap committed', 'live heap', 'major GCs', 'slope (R²)', 'bound', 'rise/floor', 'off-heap slope (R²)', 'bound', 'rise/floor', 'grows'],
          memory.map((m) => {
            const sl = (f: { slopeMBPerMin: number; r2: number } | null | undefined) => (f ? `${f.slopeMBPerMin} (${f.r2})` : '-');
            const rf = (f: { riseMB: number; noiseFloorMB: number } | null | undefined) => (f ? `${f.riseMB}/${f.noiseFloorMB}` : '-');
            const judged = m.liveHeap.fit ?? m.heap;
            return [m.process, m.rss.mb, sl(m.rss), m.rssFileMB, m.heap.mb, sl(m.heap), m.heapTotalMB, m.liveHeap.mb, m.liveHeap.majorGcs, sl(m.liveHeap.fit), judged.boundMBPerMin, rf(judged), sl(m.offHeap), m.offHeap?.boundMBPerMin ?? '-', rf(m.offHeap), m.grows ? 'YES' : 'no'];
          }),
        ),
        ...(problems.length ? ['', 'problems:', ...problems.slice(0, 20).map((p) => `  ${p}`)] : []),
        '',
      ].join('\n'),
    );
    if (problems.length > 0 || (v?.problems.length ?? 1) > 0) {
      const dir = `${REPO}artifacts/soak-logs`;
      mkdirSync(dir, { recursive: true });
      sys.procs.forEach((p, i) => writeFileSync(`${dir}/${i}-${p.name}.log`, p.output.join('')));
    }

    // At every size: nothing lost, doubled, out of order or left behind; state as the clients left it.
    expect(problems).toEqual([]);
    expect(v?.problems).toEqual([]);
    expect(v?.lostAcked).toBe(0);
    expect(v?.duplicates).toBe(0);
    expect(v?.pendingOutbox).toBe(0);
    expect(acks.length).toBeGreaterThan(ROOMS);
    for (const m of memory) expect(m.samples, `${m.process}: memory samples in the window`).toBeGreaterThanOrEqual(3);
    // At full size: memory flat (doubling in no less than DOUBLING_HOURS) and latency steady.
    if (FULL_SIZE) {
      for (const m of memory) expect(m.grows, `${m.process}: memory grows (live heap ${JSON.stringify(m.liveHeap)}, heap used ${JSON.stringify(m.heap)}, off-heap RSS ${JSON.stringify(m.offHeap)})`).toBe(false);
      expect(latency.p99Ratio, 'p99 send → delivered, last window / first').toBeLessThanOrEqual(1.5);
    }
  }, DURATION_MS + 900_000);
});

/**
 * S12 — one stream per person under a busy room (issue 15): BENCH_INBOX_MEMBERS people (1,000;
 * smoke 20) each hold an `inbox` subscription on one gateway, all members of one room into
 * which a writer sends BENCH_RATE messages/s (20) for BENCH_SECONDS (30; smoke 3). Every
 * member's stream gets a MESSAGE event with their own counts for each message: delivered (of
 * members × sends), end-to-end p50/p99 (send → event), and the gateway's CPU over the sending
 * window (seconds of CPU per second). The load generators run in their own processes.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { paced, stamped } from '../lib/pace.js';
import { num, report } from '../lib/report.js';
import { cpuMs, joinAll, startSeeded } from '../lib/system.js';
import { until, Workers } from '../lib/workers.js';

const MEMBERS = num('BENCH_INBOX_MEMBERS', 1_000, 20);
const RATE = num('BENCH_RATE', 20, 10);
const SECONDS = num('BENCH_SECONDS', 30, 3);
const JOIN_CONCURRENCY = 8;

const cpuSeconds = (pid: number) => cpuMs(pid) / 1_000;

const { sys, users, close } = await startSeeded({ users: MEMBERS + 1, env: { COMMAND_TIMEOUT_MS: '30000' } });
const gw = sys.gateways[0]!;
const writer = users[MEMBERS]!;
const members = users.slice(0, MEMBERS);
const workers = Workers.start(2);
const room = `s12-${sys.namespace.slice(4)}`;
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }';
const INBOX = 'subscription { inbox { kind room { id unread mentions } message { seq body } } }';

try {
  await joinAll(gw.http, users, room, JOIN_CONCURRENCY);
  const opened = await workers.open(
    Array.from({ length: workers.size }, (_, w) => ({
      type: 'open' as const,
      mode: 'graphql' as const,
      url: gw.ws,
      sockets: members.filter((_, i) => i % workers.size === w).map((m) => ({ token: m.token, subs: [{ query: INBOX, variables: {} }] })),
    })),
  );
  // Live once one probe message reaches every stream (a stream that subscribed late missed
  // the earlier ones, so each probe is counted on its own).
  let probes = 0;
  await until(async () => {
    const before = (await workers.stats()).received;
    await gqlOk(gw.http, SEND, { r: room, b: stamped(64), c: `probe-${probes++}` }, writer.token);
    return until(async () => (await workers.stats()).received - before >= MEMBERS, 10_000, 200).then(
      () => true,
      () => false,
    );
  }, 300_000, 0);
  await workers.stats(true);

  const cpu0 = cpuSeconds(gw.proc.child.pid!);
  const t0 = Date.now();
  const sends: Promise<unknown>[] = [];
  // A send the write path refuses (UNAVAILABLE: FerretDB's chat worker saturates near 20/s)
  // is counted, not retried: the events expected are those of the accepted sends.
  let refused = 0;
  const attempted = await paced(RATE, SECONDS, (i) =>
    sends.push(gqlOk(gw.http, SEND, { r: room, b: stamped(64), c: `s12-${i}` }, writer.token).catch(() => void refused++)),
  );
  await Promise.all(sends);
  const sent = attempted - refused;
  const cpu1 = cpuSeconds(gw.proc.child.pid!);
  const window = (Date.now() - t0) / 1000;
  const expected = sent * MEMBERS;
  await until(async () => (await workers.stats()).received >= expected, 60_000, 500).catch(() => undefined);
  const s = await workers.stats();
  report('s12-inbox-fanout', [
    {
      members: MEMBERS,
      'sends/s': RATE,
      sent,
      refused,
      'events expected': expected,
      delivered: s.received,
      'delivery %': +((100 * s.received) / expected).toFixed(2),
      'e2e p50 ms': s.p50,
      'e2e p99 ms': s.p99,
      'gateway CPU s/s': +((cpu1 - cpu0) / window).toFixed(2),
      errors: s.errors + opened.errors,
    },
  ], { members: MEMBERS, rate: RATE, seconds: SECONDS, closes: s.closes });
} finally {
  await workers.close();
  await close();
}

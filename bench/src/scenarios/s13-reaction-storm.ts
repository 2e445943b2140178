/**
 * S13 — a reaction storm (issue 16): BENCH_SUBSCRIBERS people (1,000; smoke 20) are in one
 * room, each subscribed on one gateway to `messageUpdated` selecting `reactions { emoji count
 * reactedByMe }` (a per-viewer field: one execution per person per update, never shared), while
 * they react to one hot message at BENCH_RATE reactions/s (500; smoke 20) for BENCH_SECONDS
 * (20; smoke 3), every reaction distinct (person i % N, emoji i / N).
 *
 * Reported: reactions attempted and accepted; counts exact (the message's total, read through
 * the API, equals the active reaction rows counted straight in the database, and every
 * subscriber's last update shows that total); the delivery latency of a reaction to each
 * subscriber (from its send to the first update whose total reached the total its own answer
 * showed, which includes it), p50/p99 over accepted reactions; updates received; gateway and
 * chat CPU (seconds per second). Updates are coalesced by the chat worker's batches (one per
 * batch, not one per reaction), which is what keeps a storm affordable.
 */
import { MongoClient } from 'mongodb';
import { gql, gqlOk } from '../../../e2e/src/harness.js';
import { paced } from '../lib/pace.js';
import { num, report } from '../lib/report.js';
import { INFRA_ENV, cpuMs, joinAll, startSeeded } from '../lib/system.js';
import { until, Workers } from '../lib/workers.js';

const SUBSCRIBERS = num('BENCH_SUBSCRIBERS', 1_000, 20);
const RATE = num('BENCH_RATE', 500, 20);
const SECONDS = num('BENCH_SECONDS', 20, 3);
const JOIN_CONCURRENCY = 8;
const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '🔥', '👏', '💯', '🚀', '✅', '👀', '🤔', '😍', ':ship-it:', ':plus1:', ':lgtm:', ':wave:'];
const PROBE = '🙌';
const TOTAL = Math.round(RATE * SECONDS);
if (TOTAL > SUBSCRIBERS * EMOJI.length) throw new Error(`BENCH_RATE × BENCH_SECONDS must be ≤ ${SUBSCRIBERS * EMOJI.length} distinct reactions`);

const { sys, users, close } = await startSeeded({ users: SUBSCRIBERS + 1, chats: 1, env: { COMMAND_TIMEOUT_MS: '30000' } });
const gw = sys.gateways[0]!;
const chat = sys.procs.find((p) => p.name === 'chat')!;
const writer = users[SUBSCRIBERS]!;
const people = users.slice(0, SUBSCRIBERS);
const workers = Workers.start(2);
const room = `s13-${sys.namespace.slice(4)}`;
const REACT = 'mutation($id: ID!, $e: String!) { react(messageId: $id, emoji: $e) { id reactions { count } } }';
const UNREACT = 'mutation($id: ID!, $e: String!) { unreact(messageId: $id, emoji: $e) { id } }';
const SUB = 'subscription($r: ID!) { messageUpdated(room: $r) { id reactions { emoji count reactedByMe } } }';
const total = async (id: string) =>
  (await gqlOk<{ messages: { messages: { id: string; reactions: { count: number }[] }[] } }>(gw.http, 'query($r: ID!) { messages(room: $r) { messages { id reactions { count } } } }', { r: room }, writer.token)).messages.messages
    .find((m) => m.id === id)!
    .reactions.reduce((a, r) => a + r.count, 0);

try {
  await joinAll(gw.http, users, room, JOIN_CONCURRENCY);
  const hot = (await gqlOk<{ sendMessage: { id: string } }>(gw.http, 'mutation($r: ID!) { sendMessage(room: $r, body: "the hot message", clientMsgId: "hot") { id } }', { r: room }, writer.token)).sendMessage.id;
  const opened = await workers.open(
    Array.from({ length: workers.size }, (_, w) => ({
      type: 'open' as const,
      mode: 'graphql' as const,
      url: gw.ws,
      sockets: people.filter((_, i) => i % workers.size === w).map((p) => ({ token: p.token, subs: [{ query: SUB, variables: { r: room } }] })),
    })),
  );
  // Live once one probe (the writer's reaction, toggled) reaches every subscriber.
  let on = false;
  await until(async () => {
    const before = await workers.received();
    on = !on;
    await gqlOk(gw.http, on ? REACT : UNREACT, { id: hot, e: PROBE }, writer.token);
    return until(async () => (await workers.received()) - before >= SUBSCRIBERS, 10_000, 200).then(
      () => true,
      () => false,
    );
  }, 300_000, 0);
  const base = await total(hot);

  const cpu = () => ({ gateway: cpuMs(gw.proc.child.pid!), chat: cpuMs(chat.child.pid!) });
  const cpu0 = cpu();
  const t0 = Date.now();
  /** Each accepted reaction: when it was sent, and the total its answer showed (its batch's). */
  const sent: { at: number; total: number }[] = [];
  const calls: Promise<void>[] = [];
  let refused = 0;
  const refusals: Record<string, number> = {};
  const attempted = await paced(RATE, SECONDS, (i) => {
    const at = Date.now();
    const who = people[i % SUBSCRIBERS]!;
    const emoji = EMOJI[Math.floor(i / SUBSCRIBERS)]!;
    calls.push(
      gql<{ react: { reactions: { count: number }[] } }>(gw.http, REACT, { id: hot, e: emoji }, who.token).then(
        (r) => {
          if (!r.errors && r.data) {
            sent.push({ at, total: r.data.react.reactions.reduce((a, x) => a + x.count, 0) });
            return;
          }
          refused++;
          const code = String(r.errors?.[0]?.extensions?.code ?? 'unknown');
          refusals[code] = (refusals[code] ?? 0) + 1;
        },
        () => void refused++,
      ),
    );
  });
  await Promise.all(calls);
  const window = (Date.now() - t0) / 1000;
  const cpu1 = cpu();
  const accepted = attempted - refused;

  // Settled: the API's total equals the rows in the database, and every subscriber saw it.
  const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
  const rows = () => mongo.db(sys.namespace).collection('reactions').countDocuments({ message: hot, active: true });
  let apiTotal = 0;
  let dbRows = 0;
  await until(async () => {
    [apiTotal, dbRows] = await Promise.all([total(hot), rows()]);
    return apiTotal === dbRows && dbRows >= base + accepted;
  }, 60_000, 500).catch(() => undefined);
  await mongo.close();
  let lat = await workers.reactionLatency(sent);
  await until(async () => {
    lat = await workers.reactionLatency(sent);
    return lat.finalTotals.every((t) => t === dbRows);
  }, 60_000, 1_000).catch(() => undefined);
  const s = await workers.stats();
  const exact = apiTotal === dbRows && lat.finalTotals.every((t) => t === dbRows);
  report('s13-reaction-storm', [
    {
      subscribers: SUBSCRIBERS,
      'reactions/s': RATE,
      attempted,
      accepted,
      refused,
      'total (API)': apiTotal,
      'rows (DB)': dbRows,
      'counts exact': exact ? 'yes' : 'NO',
      'updates received': s.received,
      'updates per subscriber': +(s.received / SUBSCRIBERS).toFixed(1),
      'delivery p50 ms': lat.p50,
      'delivery p99 ms': lat.p99,
      'not delivered': lat.missing,
      'gateway CPU s/s': +((cpu1.gateway - cpu0.gateway) / 1000 / window).toFixed(2),
      'chat CPU s/s': +((cpu1.chat - cpu0.chat) / 1000 / window).toFixed(2),
      errors: s.errors + opened.errors,
    },
  ], { subscribers: SUBSCRIBERS, rate: RATE, seconds: SECONDS, base, refusals, closes: s.closes });
  if (!exact) process.exitCode = 1;
} finally {
  await workers.close();
  await close();
}

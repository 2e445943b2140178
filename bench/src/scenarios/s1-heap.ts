/**
 * S1 heap — what one socket holds on the gateway's heap: heap snapshots of one gateway process
 * (node --heapsnapshot-signal) before any socket, after BENCH_SOCKETS authenticated idle sockets
 * (connection_ack, no subscription), and after as many more sockets with one messageAdded
 * subscription each; each difference divided by the count, grouped by kind of object
 * (src/heap-summary.ts). BENCH_SOCKETS (default 2,000): small enough for a snapshot of seconds.
 * A warm-up of 200 subscribed sockets (kept open) comes first, so that the code compiled for
 * the connect path is in the baseline rather than counted per socket.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { gqlOk } from '../../../e2e/src/harness.js';
import { perUnit, perUnitTable, summarize, total } from '../heap-summary.js';
import { num, REPO, report, type Row } from '../lib/report.js';
import { rss, startSeeded } from '../lib/system.js';
import { Workers, until } from '../lib/workers.js';

const N = num('BENCH_SOCKETS', 2_000, 100);
const ROOMS = 20;
const dir = `${REPO}artifacts/heap`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const split = <T>(xs: T[], parts: number): T[][] => Array.from({ length: parts }, (_, p) => xs.filter((_, i) => i % parts === p));

const workers = Workers.start(2);
const { sys, users, close } = await startSeeded({ users: Math.ceil(N / 5) + 1, env: { SERVICE_NODE_ARGS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` } });
try {
  const gw = sys.gateways[0]!;
  const pid = gw.proc.child.pid!;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `heap${i}`);
  for (const r of rooms) await gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, users[0]!.token);
  /** Writes one snapshot and waits until it is complete (the gateway answers again). */
  const snapshot = async (): Promise<string> => {
    const known = new Set(readdirSync(dir));
    process.kill(pid, 'SIGUSR2');
    let file: string | undefined;
    await until(() => Promise.resolve((file = readdirSync(dir).find((f) => !known.has(f) && f.endsWith('.heapsnapshot'))) !== undefined), 120_000, 200);
    let size = -1;
    await until(async () => {
      // The gateway answers again once the snapshot is written (a request cut meanwhile: retry).
      if (!(await gqlOk(gw.http, '{ __typename }').then(() => true, () => false))) return false;
      const now = statSync(`${dir}/${file!}`).size;
      const stable = now === size;
      size = now;
      return stable;
    }, 120_000, 1_000);
    return `${dir}/${file!}`;
  };
  const token = (i: number) => users[1 + (i % (users.length - 1))]!.token;
  const query = 'subscription($room: ID!) { messageAdded(room: $room) { seq body } }';
  const warm = Workers.start(1);
  await warm.open([{ type: 'open', mode: 'graphql', url: gw.ws, sockets: Array.from({ length: 200 }, (_, i) => ({ token: token(i), subs: [{ query, variables: { room: rooms[i % ROOMS] } }] })) }]);
  const rss0 = rss(pid);
  const s0 = await snapshot();
  const idle = await workers.open(split(Array.from({ length: N }, (_, i) => ({ token: token(i), subs: [] })), 2).map((s) => ({ type: 'open' as const, mode: 'graphql' as const, url: gw.ws, sockets: s })));
  const rss1 = rss(pid);
  const s1 = await snapshot();
  const subscribed = await workers.open(
    split(Array.from({ length: N }, (_, i) => ({ token: token(i), subs: [{ query, variables: { room: rooms[i % ROOMS] } }] })), 2).map((s) => ({ type: 'open' as const, mode: 'graphql' as const, url: gw.ws, sockets: s })),
  );
  await until(async () => {
    for (const r of rooms) await gqlOk(gw.http, 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }', { r, b: `${Date.now()}|probe`, c: `p-${r}-${Date.now()}` }, users[0]!.token);
    return (await workers.received()) >= N;
  }, 300_000, 2_000);
  const rss2 = rss(pid);
  const s2 = await snapshot();
  const [h0, h1, h2] = [summarize(s0), summarize(s1), summarize(s2)];
  const rows: Row[] = [
    { sockets: 'idle, authenticated', count: N, errors: idle.errors, 'heap KB per socket': +((total(h1) - total(h0)) / 1024 / N).toFixed(2), 'RSS KB per socket': +((rss1 - rss0) / 1024 / N).toFixed(1) },
    { sockets: 'with 1 subscription', count: N, errors: subscribed.errors, 'heap KB per socket': +((total(h2) - total(h1)) / 1024 / N).toFixed(2), 'RSS KB per socket': +((rss2 - rss1) / 1024 / N).toFixed(1) },
  ];
  console.log(`\nper idle authenticated socket (snapshot 1 − 0, ÷ ${N}):\n${perUnitTable(h0, h1, N)}`);
  console.log(`\nper subscribed socket (snapshot 2 − 1, ÷ ${N}):\n${perUnitTable(h1, h2, N)}`);
  report('s1-heap', rows, { idle: perUnit(h0, h1, N).slice(0, 30), subscribed: perUnit(h1, h2, N).slice(0, 30) });
  await warm.close();
} finally {
  await workers.close();
  await close();
}

/**
 * S10 — the room list (issue 15): p50/p99 of `inbox` (first page of 50, with unread, mentions,
 * lastMessage, the totals over every room) for a person in BENCH_INBOX_ROOMS rooms (1,000; smoke
 * 20), against the same query for a person in 10 rooms in the same run: the trips of `inbox` must
 * not grow with the number of rooms. The rooms are filled through the gateway: each gets its
 * reader and a writer, and the writer's messages (every tenth mentions the reader), so each room
 * has activity, a read position and unread messages.
 */
import { gqlOk } from '../../../e2e/src/harness.js';
import { histogram, num, report, type Row } from '../lib/report.js';
import { startSeeded } from '../lib/system.js';

const ROOMS = num('BENCH_INBOX_ROOMS', 1_000, 20);
const SMALL_ROOMS = 10;
const OPS = num('BENCH_OPS', 200, 20);
const CONCURRENCY = num('BENCH_CONCURRENCY', 4, 2);
const FILL_CONCURRENCY = 8;

const { sys, users, close } = await startSeeded({ users: 3, env: { COMMAND_TIMEOUT_MS: '30000' } });
const gw = sys.gateways[0]!;
const [reader, smallReader, writer] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { seq } }';
const INBOX = '{ inbox(limit: 50) { unreadTotal mentionsTotal nextCursor rooms { id name unread mentions lastReadSeq lastMessage { seq body author { displayName } } } } }';

async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** `rooms` rooms, each joined by `who` and the writer, with two messages of the writer. */
async function fill(prefix: string, rooms: number, who: { token: string }, username: string): Promise<void> {
  const t0 = Date.now();
  await pool(rooms, FILL_CONCURRENCY, async (i) => {
    const n = `${prefix}-${i}`;
    const { joinRoom } = await gqlOk<{ joinRoom: { id: string } }>(gw.http, JOIN, { n }, who.token);
    await gqlOk(gw.http, JOIN, { n }, writer.token);
    await gqlOk(gw.http, SEND, { r: joinRoom.id, b: `hello ${i}`, c: `${n}-1` }, writer.token);
    await gqlOk(gw.http, SEND, { r: joinRoom.id, b: i % 10 === 0 ? `@${username} look at ${i}` : `more ${i}`, c: `${n}-2` }, writer.token);
  });
  process.stderr.write(`[fill] ${prefix}: ${rooms} rooms in ${Date.now() - t0} ms\n`);
}

async function timed(token: string): Promise<{ p50: number; p99: number; totals: unknown }> {
  const h = histogram();
  let totals: unknown;
  await pool(OPS, CONCURRENCY, async () => {
    const t0 = performance.now();
    const d = await gqlOk<{ inbox: { unreadTotal: number; mentionsTotal: number; rooms: unknown[] } }>(gw.http, INBOX, {}, token);
    h.recordValue(Math.max(1, Math.round(performance.now() - t0)));
    totals = { unreadTotal: d.inbox.unreadTotal, mentionsTotal: d.inbox.mentionsTotal, onPage: d.inbox.rooms.length };
  });
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), totals };
}

const usernameOf = async (token: string) => (await gqlOk<{ me: { username: string } }>(gw.http, '{ me { username } }', {}, token)).me.username;

try {
  await fill('s10-small', SMALL_ROOMS, smallReader, await usernameOf(smallReader.token));
  await fill('s10-large', ROOMS, reader, await usernameOf(reader.token));
  const small = await timed(smallReader.token);
  const large = await timed(reader.token);
  const rows: Row[] = [
    { person: `in ${SMALL_ROOMS} rooms`, 'inbox p50 ms': small.p50, 'inbox p99 ms': small.p99, totals: JSON.stringify(small.totals) },
    { person: `in ${ROOMS} rooms`, 'inbox p50 ms': large.p50, 'inbox p99 ms': large.p99, totals: JSON.stringify(large.totals) },
  ];
  report('s10-inbox', rows, { rooms: ROOMS, smallRooms: SMALL_ROOMS, ops: OPS, concurrency: CONCURRENCY, 'p99 ratio large / small': +(large.p99 / small.p99).toFixed(2) });
  console.log(`inbox p99 in ${ROOMS} rooms / in ${SMALL_ROOMS} rooms: ${(large.p99 / small.p99).toFixed(2)} ×`);
} finally {
  await close();
}

/**
 * S8 — round trips per command (issue 13): how many database statements (SQL that FerretDB
 * sends to PostgreSQL, from pg_stat_statements) and Redis commands (INFO commandstats) one
 * `sendMessage`, `joinRoom` and `editMessage` costs end to end, over BENCH_COMMANDS of each sent
 * one after another (so no group commit), with the whole system running. Background traffic
 * (presence heartbeats, BullMQ's housekeeping, the outbox relay's sweeps, the audit consumer) is
 * included: it is part of what a command costs the servers. Needs the local infrastructure on
 * PostgreSQL (POSTGRES_PORT, 54329).
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { gqlOk } from '../../../e2e/src/harness.js';
import { num, report, type Row } from '../lib/report.js';
import { INFRA_ENV, startSeeded } from '../lib/system.js';

const N = num('BENCH_COMMANDS', 200, 20);
/** BENCH_S8_DETAIL=1: also print, per command, the Redis commands by name and the SQL statements by text. */
const DETAIL = process.env.BENCH_S8_DETAIL === '1';
const PG_PORT = process.env.POSTGRES_PORT ?? '54329';
/** The PostgreSQL database FerretDB writes to; only its statements are counted. */
const PG_DB = process.env.FERRETDB_POSTGRES_DB ?? 'ferretdb';

const psql = (sql: string) =>
  execFileSync('psql', ['-h', '127.0.0.1', '-p', PG_PORT, '-U', 'conversa', '-d', 'ferretdb', '-Atc', sql], { encoding: 'utf8' }).trim();

const lit = (v: string) => `'${v.replaceAll("'", "''")}'`;
/** Statements of FerretDB's database only (other databases of the cluster may be busy). */
const IN_DB = `dbid = (select oid from pg_database where datname = ${lit(PG_DB)})`;

/** SQL statements executed since the last reset, by kind (select, insert, update, delete, other). */
function sqlCounts(): Record<string, number> {
  const out: Record<string, number> = { select: 0, insert: 0, update: 0, delete: 0, other: 0 };
  for (const line of psql(`select lower(split_part(ltrim(query), ' ', 1)), sum(calls) from pg_stat_statements where ${IN_DB} group by 1`).split('\n')) {
    const [kind, calls] = line.split('|');
    if (!kind) continue;
    out[kind in out ? kind : 'other']! += Number(calls);
  }
  return out;
}

/** Redis commands executed since the last reset, by name (commands inside scripts included). */
async function redisCounts(r: Redis): Promise<Map<string, number>> {
  const info = await r.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) if (m[1] !== 'info' && m[1] !== 'config') out.set(m[1]!, Number(m[2]));
  return out;
}

/** The statements behind the counts, most frequent first, per command (DETAIL only). */
function sqlDetail(n: number): string {
  return psql(`select round(calls::numeric / ${n}, 2) || ' × ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 160) from pg_stat_statements where ${IN_DB} and calls >= ${Math.max(1, Math.floor(n / 4))} order by calls desc limit 40`);
}

const { sys, users, close } = await startSeeded({ users: 1 });
const redis = new Redis(INFRA_ENV.REDIS_URL);
try {
  const gw = sys.gateways[0]!;
  const token = users[0]!.token;
  const rows: Row[] = [];
  const measure = async (name: string, run: (i: number) => Promise<unknown>) => {
    psql(`select pg_stat_statements_reset(0, (select oid from pg_database where datname = ${lit(PG_DB)}), 0)`);
    await redis.config('RESETSTAT');
    const t0 = Date.now();
    for (let i = 0; i < N; i++) await run(i);
    const ms = Date.now() - t0;
    const sql = sqlCounts();
    const redisByName = await redisCounts(redis);
    if (DETAIL) {
      const byName = [...redisByName].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / N).toFixed(2)}`);
      console.log(`\n## ${name}: Redis per command\n${byName.join('\n')}\n## ${name}: SQL per command\n${sqlDetail(N)}\n`);
    }
    const total = Object.values(sql).reduce((a, b) => a + b, 0);
    rows.push({
      command: name,
      count: N,
      'SQL / cmd': +(total / N).toFixed(1),
      'select / cmd': +(sql.select! / N).toFixed(1),
      'insert / cmd': +(sql.insert! / N).toFixed(1),
      'update / cmd': +(sql.update! / N).toFixed(1),
      'delete / cmd': +(sql.delete! / N).toFixed(1),
      'Redis / cmd': +([...redisByName.values()].reduce((a, b) => a + b, 0) / N).toFixed(1),
      'ms / cmd': +(ms / N).toFixed(1),
    });
  };
  await measure('joinRoom', (i) => gqlOk(gw.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `rt${i}` }, token));
  const sent: string[] = [];
  await measure('sendMessage', async (i) => {
    const d = await gqlOk<{ sendMessage: { id: string } }>(gw.http, 'mutation($r: ID!, $c: String!) { sendMessage(room: $r, body: "hello", clientMsgId: $c) { id } }', { r: 'rt0', c: `c${i}` }, token);
    sent.push(d.sendMessage.id);
  });
  await measure('editMessage', (i) => gqlOk(gw.http, 'mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { id } }', { id: sent[i]!, b: `edited ${i}` }, token));
  report('s8-round-trips', rows);
} finally {
  redis.disconnect();
  await close();
}

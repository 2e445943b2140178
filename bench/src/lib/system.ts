/**
 * The system under test for benchmarks: the same processes the end-to-end tests start
 * (reused from e2e/src/harness.ts), users seeded straight into the database and tokens minted
 * with the system's secret, so that thousands of sockets need no thousand sign-ups.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { MongoClient } from 'mongodb';
import { E2E_JWT_SECRET, INFRA_ENV, LOAD_ENV, gqlOk, startSystem, type System } from '../../../e2e/src/harness.js';
import { REPO } from './report.js';

export { INFRA_ENV, type System };

export interface Seeded {
  sys: System;
  users: { id: string; token: string }[];
  close: () => Promise<void>;
}

/** RSS of a process, bytes (Linux /proc). */
export function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** CPU time a process has used so far (user + system), ms (Linux /proc, 100 ticks a second). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function startSeeded(opts: { users: number; gateways?: number; chats?: number; audits?: number; searches?: number; env?: Record<string, string> }): Promise<Seeded> {
  const sys = await startSystem({
    gateways: opts.gateways ?? 1,
    chats: opts.chats ?? 1,
    audits: opts.audits ?? 1,
    searches: opts.searches ?? 0,
    env: {
      LOG_LEVEL: 'warn',
      PRESENCE_HEARTBEAT_MS: '10000',
      ...LOAD_ENV,
      // BENCH_PROFILE=1: every service writes a V8 CPU profile on exit (see src/profile-summary.ts).
      ...(process.env.BENCH_PROFILE === '1' ? { SERVICE_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${REPO}artifacts/profiles` } : {}),
      // BENCH_GATEWAY_NODE_ARGS: node/V8 options for the gateway processes only (S1's experiments).
      ...(process.env.BENCH_GATEWAY_NODE_ARGS ? { GATEWAY_NODE_ARGS: process.env.BENCH_GATEWAY_NODE_ARGS } : {}),
      // GATEWAY_OPTIMIZE_FOR_SIZE=false: the gateways on V8's default heap sizing (S1's A/B).
      ...(process.env.GATEWAY_OPTIMIZE_FOR_SIZE ? { GATEWAY_OPTIMIZE_FOR_SIZE: process.env.GATEWAY_OPTIMIZE_FOR_SIZE } : {}),
      ...opts.env,
    },
  });
  const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
  const now = new Date();
  const users = Array.from({ length: opts.users }, (_, i) => ({
    _id: randomUUID(),
    username: `bench${i}_${sys.namespace.slice(4)}`,
    displayName: `Bench ${i}`,
    role: 'USER',
    passwordHash: 'seeded-by-the-benchmark-no-login',
    createdAt: now,
    outbox: [],
    outboxPending: false,
  }));
  await mongo.db(sys.namespace).collection('users').insertMany(users as never[]);
  await mongo.close();
  const key = new TextEncoder().encode(E2E_JWT_SECRET);
  const exp = Math.floor(Date.now() / 1000) + 6 * 3600;
  const tokens = await Promise.all(
    users.map((u) =>
      new SignJWT({ username: u.username, role: 'USER' }).setProtectedHeader({ alg: 'HS256' }).setSubject(u._id).setIssuer('conversa').setExpirationTime(exp).sign(key),
    ),
  );
  return {
    sys,
    users: users.map((u, i) => ({ id: u._id, token: tokens[i]! })),
    close: () => sys.stop(),
  };
}

/** Every user joins the public room `room` through the gateway, `concurrency` joins at a time. */
export async function joinAll(http: string, users: readonly { token: string }[], room: string, concurrency = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < users.length) {
        const u = users[next++]!;
        await gqlOk(http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, u.token);
      }
    }),
  );
}

/**
 * A private set of real infrastructure servers (Redis, Kafka, PostgreSQL and FerretDB on it) on
 * their own ports and data folder, so the fault suite can kill -9 them without disturbing
 * anything else.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../harness.js';

/** `postgres`: the postmaster (FerretDB stays up and reconnects); `mongo`: FerretDB. */
export type InfraService = 'redis' | 'kafka' | 'mongo' | 'postgres';

export interface PrivateInfra {
  env: { MONGO_URL: string; REDIS_URL: string; KAFKA_BROKERS: string; SEARCH_PG_URL: string };
  /** SIGKILL the server (its pid file's process: for PostgreSQL the postmaster): no shutdown, no flush. */
  kill(svc: InfraService): void;
  /** Starts it again on the same port and data folder (`infra.sh up <svc>`); resolves once it answers. */
  start(svc: InfraService): Promise<void>;
  destroy(): Promise<void>;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [`${REPO}infra/local/infra.sh`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`infra.sh ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

export async function startPrivateInfra(base: number): Promise<PrivateInfra> {
  const dir = mkdtempSync(join(tmpdir(), 'conversa-faults-'));
  const ports = { redis: base, kafka: base + 1, controller: base + 2, mongo: base + 3, postgres: base + 4 };
  const env = {
    ...process.env,
    CONVERSA_DATA_DIR: dir,
    REDIS_PORT: String(ports.redis),
    KAFKA_PORT: String(ports.kafka),
    KAFKA_CONTROLLER_PORT: String(ports.controller),
    MONGO_PORT: String(ports.mongo),
    POSTGRES_PORT: String(ports.postgres),
  };
  await run(['up'], env);
  return {
    env: {
      MONGO_URL: `mongodb://127.0.0.1:${ports.mongo}`,
      REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
      KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
      // The search indexer's database on the same PostgreSQL (created on first use).
      SEARCH_PG_URL: `postgres://conversa@127.0.0.1:${ports.postgres}/conversa_search`,
    },
    kill(svc) {
      const pid = Number(readFileSync(join(dir, svc, `${svc}.pid`), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
    },
    start: (svc) => run(['up', svc], env),
    async destroy() {
      await run(['down'], env).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

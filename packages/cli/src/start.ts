import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import type { Config } from '@conversa/config';
import { runInfra } from './infra.js';
import { REPO_ROOT, serviceEntry } from './paths.js';

const SERVICES = [
  { name: 'chat', color: '\x1b[36m' },
  { name: 'audit', color: '\x1b[35m' },
  { name: 'search', color: '\x1b[33m' },
  { name: 'gateway', color: '\x1b[32m' },
] as const;
const RESET = '\x1b[0m';

async function waitReady(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer ready within ${timeoutMs / 1_000} s`);
}

/**
 * `conversa start`: infrastructure, then the four services in the foreground with readable,
 * prefixed logs; Ctrl-C stops the services, then the infrastructure this command started.
 */
export async function start(config: Config): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'conversa-start-'));
  const startedFile = join(stateDir, 'started');
  const code = await runInfra(['up'], { ...process.env, INFRA_STARTED_FILE: startedFile });
  if (code !== 0) {
    process.stderr.write('conversa: infrastructure did not start (see above)\n');
    process.exit(code);
  }
  const startedInfra = (() => {
    try {
      return readFileSync(startedFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  })();
  const pretty = prettyFactory({ colorize: true, ignore: 'pid,hostname,service,name', translateTime: 'HH:MM:ss.l' });
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nconversa: stopping services…\n');
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    if (startedInfra.length > 0) {
      process.stdout.write(`conversa: stopping infrastructure it started (${startedInfra.join(', ')})…\n`);
      await runInfra(['down', ...startedInfra]);
    }
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  for (const s of SERVICES) {
    const child = spawn(process.execPath, [serviceEntry(s.name)], {
      cwd: REPO_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(s.name, child);
    const prefix = `${s.color}${s.name.padEnd(7)}${RESET} │ `;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const text = line.startsWith('{') ? pretty(line).trimEnd() : line;
        process.stdout.write(`${prefix}${text}\n`);
      });
    }
    child.on('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`conversa: ${s.name} exited (code ${code ?? 'signal'}); stopping everything\n`);
        void stopAll(1);
      }
    });
  }
  const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
  try {
    await waitReady(`http://${host}:${config.PORT}/readyz`, 60_000, () => !stopping);
  } catch (e) {
    process.stderr.write(`conversa: ${e instanceof Error ? e.message : String(e)}\n`);
    await stopAll(1);
    return;
  }
  const url = `http://${host === '127.0.0.1' ? 'localhost' : host}:${config.PORT}/graphql`;
  process.stdout.write(`\n  conversa is running → ${url}\n  (Ctrl-C stops it)\n\n`);
}

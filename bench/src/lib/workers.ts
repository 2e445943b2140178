import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { WorkerCommand, WorkerReply } from './client-worker.js';
import { histogram } from './report.js';

const WORKER = fileURLToPath(new URL('./client-worker.ts', import.meta.url));

/** Load-generator processes, separate from the gateway under test. */
export class Workers {
  private constructor(private readonly procs: ChildProcess[]) {}

  static start(n: number): Workers {
    return new Workers(Array.from({ length: n }, () => fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })));
  }

  get size(): number {
    return this.procs.length;
  }

  private ask<T extends WorkerReply['type']>(p: ChildProcess, cmd: WorkerCommand, answer: T): Promise<Extract<WorkerReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load worker exited (${code})`));
      const onMessage = (m: WorkerReply) => {
        if (m.type !== answer) return;
        p.off('message', onMessage);
        p.off('exit', onExit);
        resolve(m as Extract<WorkerReply, { type: T }>);
      };
      p.on('message', onMessage);
      p.once('exit', onExit);
      p.send(cmd);
    });
  }

  /** Opens `cmds[i]` in worker i % n; resolves when every socket is connected. */
  async open(cmds: Extract<WorkerCommand, { type: 'open' }>[]): Promise<{ sockets: number; ms: number; errors: number }> {
    const t0 = Date.now();
    const r = await Promise.all(cmds.map((c, i) => this.ask(this.procs[i % this.procs.length]!, c, 'opened')));
    return { sockets: r.reduce((a, x) => a + x.sockets, 0), ms: Date.now() - t0, errors: r.reduce((a, x) => a + x.errors, 0) };
  }

  /** Deliveries and merged latency percentiles across workers. */
  async stats(reset = false): Promise<{ received: number; p50: number; p99: number; max: number; errors: number; closes: Record<string, number> }> {
    const r = await Promise.all(this.procs.map((p) => this.ask(p, { type: 'stats', reset }, 'stats')));
    const merged = histogram();
    for (const x of r) merged.add(hdr.decodeFromCompressedBase64(x.histogram));
    return {
      received: r.reduce((a, x) => a + x.received, 0),
      p50: merged.getValueAtPercentile(50),
      p99: merged.getValueAtPercentile(99),
      max: merged.maxValue,
      errors: r.reduce((a, x) => a + x.errors, 0),
      closes: r.reduce<Record<string, number>>((acc, x) => {
        for (const [k, v] of Object.entries(x.closes)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
    };
  }

  /** Deliveries so far, without latency figures: cheap enough to poll. */
  async received(): Promise<number> {
    const r = await Promise.all(this.procs.map((p) => this.ask(p, { type: 'count' }, 'count')));
    return r.reduce((a, x) => a + x.received, 0);
  }

  /** S13: reactions' delivery latency merged across workers (see client-worker.ts). */
  async reactionLatency(sent: { at: number; total: number }[]): Promise<{ p50: number; p99: number; max: number; missing: number; sockets: number; finalTotals: number[] }> {
    const r = await Promise.all(this.procs.map((p) => this.ask(p, { type: 'reaction-latency', sent }, 'reaction-latency')));
    const merged = histogram();
    for (const x of r) merged.add(hdr.decodeFromCompressedBase64(x.histogram));
    return {
      p50: merged.getValueAtPercentile(50),
      p99: merged.getValueAtPercentile(99),
      max: merged.maxValue,
      missing: r.reduce((a, x) => a + x.missing, 0),
      sockets: r.reduce((a, x) => a + x.sockets, 0),
      finalTotals: r.flatMap((x) => x.finalTotals),
    };
  }

  async dropAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { type: 'drop' }, 'dropped')));
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { type: 'close' }, 'closed').catch(() => undefined)));
  }

  /** RSS of the worker processes is not measured; only the server's matters. */
}

/** Polls `fn` until it returns true or the deadline passes; returns the elapsed ms. */
export async function until(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`not reached within ${timeoutMs} ms`);
}

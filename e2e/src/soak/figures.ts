/**
 * The soak's measuring: every service process's RSS (from /proc) and V8 heap used (from its
 * /metrics: prom-client's `conversa_nodejs_heap_size_used_bytes`) sampled over the run, the
 * least-squares slope of each over a window, and percentiles.
 */
import { readFileSync } from 'node:fs';
import type { ServiceProcess } from '../harness.js';
import { scrape, sum } from '../metrics-text.js';

export interface MemorySample {
  /** ms since the load started. */
  t: number;
  /** MB (2^20 bytes). */
  rssMB: number;
  /** MB; undefined when /metrics did not answer. */
  heapMB?: number;
}

export interface ProcessSeries {
  /** e.g. `gateway-0`. */
  name: string;
  pid: number;
  samples: MemorySample[];
}

const MB = 2 ** 20;

/** VmRSS of a live process, MB; undefined once it is gone. */
export function rssMB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** Samples every process of `procs` every `everyMs` until `stop()`; one series per process. */
export function sampleMemory(procs: ServiceProcess[], startedAt: number, everyMs: number) {
  const counts = new Map<string, number>();
  const series: (ProcessSeries & { port?: number })[] = procs.map((p) => {
    const k = counts.get(p.name) ?? 0;
    counts.set(p.name, k + 1);
    return { name: `${p.name}-${k}`, pid: p.child.pid!, ...(p.port !== undefined ? { port: p.port } : {}), samples: [] };
  });
  let stopped = false;
  const once = async () => {
    const t = Date.now() - startedAt;
    await Promise.all(
      series.map(async (s) => {
        const rss = rssMB(s.pid);
        if (rss === undefined) return;
        let heapMB: number | undefined;
        if (s.port !== undefined) {
          const heap = await scrape(s.port).then((m) => sum(m, 'conversa_nodejs_heap_size_used_bytes'), () => undefined);
          if (heap !== undefined) heapMB = heap / MB;
        }
        s.samples.push({ t, rssMB: rss, ...(heapMB !== undefined ? { heapMB } : {}) });
      }),
    );
  };
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + everyMs;
      await once();
      // The sampling period itself (not a wait for an event).
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  })();
  return {
    series: series as ProcessSeries[],
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Least-squares fit y = a + b·x; `slope` b, `r2` the fit's R² (0 when y does not vary). */
export function leastSquares(points: { x: number; y: number }[]): { slope: number; r2: number; n: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0, n };
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
    syy += (p.y - my) ** 2;
  }
  if (sxx === 0) return { slope: 0, r2: 0, n };
  const slope = sxy / sxx;
  return { slope, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy), n };
}

/** The p-th percentile (0..100) by nearest rank; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Prints rows as a right-aligned text table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padStart(width[i]!)).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

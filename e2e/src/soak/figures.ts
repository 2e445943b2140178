/**
 * The soak's measuring: every service process's RSS (from /proc) and, from its /metrics, V8's
 * heap used and committed and the live heap (heap used just after the newest major GC,
 * `conversa_nodejs_heap_after_major_gc_bytes`), sampled over the run; the least-squares slope
 * of each over a window; whether a process's memory grows (`memoryGrowth`); percentiles.
 */
import { readFileSync } from 'node:fs';
import type { ServiceProcess } from '../harness.js';
import { scrape, sum } from '../metrics-text.js';

export interface MemorySample {
  /** ms since the load started. */
  t: number;
  /** MB (2^20 bytes). */
  rssMB: number;
  /** MB; undefined when /metrics did not answer (as are the fields below). */
  heapMB?: number;
  /** V8's committed heap (heap total), MB. */
  heapTotalMB?: number;
  /** Of it, the pages resident (touched), MB: RSS − this is the memory outside the V8 heap (RSS − heap total is not: V8 commits pages before it touches them). */
  heapPhysicalMB?: number;
  /** Heap used just after the newest major GC (the live heap), MB; undefined before the first. */
  liveHeapMB?: number;
  /** When that GC ended, s since the process started: a new value is a new major GC. */
  majorGcAt?: number;
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
        const sample: MemorySample = { t, rssMB: rss };
        const metrics = s.port === undefined ? undefined : await scrape(s.port).catch(() => undefined);
        if (metrics) {
          const put = (k: 'heapMB' | 'heapTotalMB' | 'heapPhysicalMB' | 'liveHeapMB' | 'majorGcAt', v: number | undefined) => {
            if (v !== undefined) sample[k] = v;
          };
          const mb = (name: string) => {
            const v = sum(metrics, name);
            return v === undefined ? undefined : v / MB;
          };
          put('heapMB', mb('conversa_nodejs_heap_size_used_bytes'));
          put('heapTotalMB', mb('conversa_nodejs_heap_size_total_bytes'));
          put('heapPhysicalMB', mb('conversa_nodejs_heap_physical_bytes'));
          // Before the process's first major GC the gauges read 0: no live heap known yet.
          const gcAt = sum(metrics, 'conversa_nodejs_major_gc_at_seconds');
          if (gcAt) {
            put('majorGcAt', gcAt);
            put('liveHeapMB', mb('conversa_nodejs_heap_after_major_gc_bytes'));
          }
        }
        s.samples.push(sample);
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

/** A fit shows growth only when its slope is over the bound and the line explains the points. */
export const GROWTH_MIN_R2 = 0.5;
/** Fewer major GCs than this in the window and the live heap is judged from heap used instead. */
export const MIN_MAJOR_GCS = 3;

export interface SeriesFit {
  /** MB/min */
  slope: number;
  r2: number;
  n: number;
  /** MB/min that would double the series' mean over the window in the doubling time. */
  bound: number;
  /** slope > bound and r2 ≥ GROWTH_MIN_R2. */
  grows: boolean;
}

export interface MemoryGrowth {
  /** RSS and heap used as sampled (reported; they move with V8's heap sizing, not only with what is kept). */
  rss: SeriesFit;
  heap: SeriesFit;
  /** The live heap, one point per major GC in the window; null when there were fewer than MIN_MAJOR_GCS. */
  liveHeap: SeriesFit | null;
  /** RSS outside the V8 heap (RSS − the heap's resident pages): native memory, buffers, the binary. */
  offHeap: SeriesFit | null;
  majorGcs: number;
  /** What the verdict rests on: the live heap (or heap used, without enough major GCs) and the off-heap RSS. */
  grows: boolean;
}

function fit(points: { x: number; y: number }[], doublingMinutes: number): SeriesFit {
  const f = leastSquares(points);
  const mean = points.reduce((a, p) => a + p.y, 0) / Math.max(1, points.length);
  const bound = mean / doublingMinutes;
  return { slope: f.slope, r2: f.r2, n: f.n, bound, grows: f.slope > bound && f.r2 >= GROWTH_MIN_R2 };
}

/**
 * The live heap at each major GC that happened during `samples` (one point per new
 * `majorGcAt`, at the first sample that shows it, x by `xOf`); the GC the first sample shows
 * happened before them and is left out.
 */
export function majorGcPoints<S extends Pick<MemorySample, 'majorGcAt' | 'liveHeapMB'>>(samples: readonly S[], xOf: (s: S) => number): { x: number; y: number }[] {
  const points: { x: number; y: number }[] = [];
  let last = samples[0]?.majorGcAt;
  for (const s of samples) {
    if (s.majorGcAt === undefined || s.liveHeapMB === undefined || s.majorGcAt === last) continue;
    last = s.majorGcAt;
    points.push({ x: xOf(s), y: s.liveHeapMB });
  }
  return points;
}

/**
 * Whether a process's memory grows, from its samples in a window (t in ms; the result per
 * minute). V8 lets garbage pile up to its next major GC and sizes the heap it commits from what
 * each major GC leaves, so heap used and RSS sampled at random moments rise for many minutes
 * in a process that keeps nothing (the search indexer at a few events a second: one saw-tooth
 * is longer than the soak). What a leak makes grow is what survives a major GC, and memory
 * outside the V8 heap; those are judged. A slope is growth only when it is over the bound
 * (doubling in `doublingHours`) and the line fits (R² ≥ GROWTH_MIN_R2): a slope the points do
 * not support is noise.
 */
export function memoryGrowth(samples: MemorySample[], doublingHours: number): MemoryGrowth {
  const minutes = doublingHours * 60;
  const at = (x: MemorySample) => x.t / 60_000;
  const rss = fit(samples.map((x) => ({ x: at(x), y: x.rssMB })), minutes);
  const heap = fit(samples.filter((x) => x.heapMB !== undefined).map((x) => ({ x: at(x), y: x.heapMB! })), minutes);
  const gcs = majorGcPoints(samples, at);
  const liveHeap = gcs.length >= MIN_MAJOR_GCS ? fit(gcs, minutes) : null;
  const off = samples.filter((x) => x.heapPhysicalMB !== undefined).map((x) => ({ x: at(x), y: x.rssMB - x.heapPhysicalMB! }));
  const offHeap = off.length >= 3 ? fit(off, minutes) : null;
  return { rss, heap, liveHeap, offHeap, majorGcs: gcs.length, grows: (liveHeap ?? heap).grows || (offHeap ?? rss).grows };
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

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
  /**
   * Of it, the anonymous pages (`RssAnon`): the V8 heap, malloc'd memory, buffers, stacks. The
   * rest is file-backed (`RssFile`: the node binary's and the libraries' code and data, faulted
   * in the first time a path runs; bounded by their size, and the kernel may drop it) and shared
   * memory. Undefined on a kernel without the field.
   */
  rssAnonMB?: number;
  /** The file-backed pages (`RssFile`), MB. */
  rssFileMB?: number;
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

/** VmRSS of a live process and its anonymous and file-backed parts, MB; undefined once it is gone. */
export function processMemory(pid: number): Pick<MemorySample, 'rssMB' | 'rssAnonMB' | 'rssFileMB'> | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const mb = (field: string) => {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  };
  const rss = mb('VmRSS');
  if (rss === undefined) return undefined;
  const anon = mb('RssAnon');
  const file = mb('RssFile');
  return { rssMB: rss, ...(anon !== undefined ? { rssAnonMB: anon } : {}), ...(file !== undefined ? { rssFileMB: file } : {}) };
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
        const mem = processMemory(s.pid);
        if (mem === undefined) return;
        const sample: MemorySample = { t, ...mem };
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

/** Least-squares fit y = a + b·x; `slope` b, `intercept` a, `r2` the fit's R² (0 when y does not vary). */
export function leastSquares(points: { x: number; y: number }[]): { slope: number; intercept: number; r2: number; n: number } {
  const n = points.length;
  const my0 = n ? points.reduce((a, p) => a + p.y, 0) / n : 0;
  if (n < 2) return { slope: 0, intercept: my0, r2: 0, n };
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = my0;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
    syy += (p.y - my) ** 2;
  }
  if (sxx === 0) return { slope: 0, intercept: my, r2: 0, n };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy), n };
}

/** Warm-up points this close to the start of the load are left out of the noise floor (process start: JIT, pools, the first collections). */
export const NOISE_SKIP_MIN = 1;
/** The share of warm-up residuals left out at each end of the noise floor's range. */
export const NOISE_TRIM = 0.05;

/**
 * How far a series moves without a trend: the spread (5th to 95th percentile) of its warm-up
 * points' residuals around their own least-squares line; 0 with fewer than 3 points. Memory
 * outside the V8 heap moves in allocator steps (an arena or a buffer pool growing by a few
 * hundred KB, then flat for minutes); a rise over the window no larger than this is one or two
 * such steps, not a trend the window can tell from them.
 */
export function noiseFloor(points: { x: number; y: number }[]): number {
  if (points.length < 3) return 0;
  const f = leastSquares(points);
  const res = points.map((p) => p.y - (f.intercept + f.slope * p.x)).sort((a, b) => a - b);
  const at = (q: number) => res[Math.min(res.length - 1, Math.max(0, Math.round(q * (res.length - 1))))]!;
  return at(1 - NOISE_TRIM) - at(NOISE_TRIM);
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
  /** MB: what the line rises over the window (slope × its span). */
  rise: number;
  /** MB: the same series' noise floor in the warm-up (`noiseFloor`); 0 without warm-up points. */
  floor: number;
  /** slope > bound, r2 ≥ GROWTH_MIN_R2 and rise > floor. */
  grows: boolean;
}

export interface MemoryGrowth {
  /** RSS and heap used as sampled (reported; they move with V8's heap sizing, not only with what is kept). */
  rss: SeriesFit;
  heap: SeriesFit;
  /** The live heap, one point per major GC in the window; null when there were fewer than MIN_MAJOR_GCS. */
  liveHeap: SeriesFit | null;
  /** Anonymous RSS outside the V8 heap (RssAnon − the heap's resident pages; RSS where RssAnon is unknown): native memory, buffers, stacks. */
  offHeap: SeriesFit | null;
  majorGcs: number;
  /** What the verdict rests on: the live heap (or heap used, without enough major GCs) and the off-heap RSS. */
  grows: boolean;
}

function fit(points: { x: number; y: number }[], doublingMinutes: number, warm: { x: number; y: number }[] = []): SeriesFit {
  const f = leastSquares(points);
  const mean = points.reduce((a, p) => a + p.y, 0) / Math.max(1, points.length);
  const bound = mean / doublingMinutes;
  const xs = points.map((p) => p.x);
  const rise = points.length < 2 ? 0 : f.slope * (Math.max(...xs) - Math.min(...xs));
  const floor = noiseFloor(warm);
  return { slope: f.slope, r2: f.r2, n: f.n, bound, rise, floor, grows: f.slope > bound && f.r2 >= GROWTH_MIN_R2 && rise > floor };
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
 * (doubling in `doublingHours`), the line fits (R² ≥ GROWTH_MIN_R2) and the rise it makes over
 * the window is larger than the series' noise floor in `warmup` (the samples before the window;
 * those within NOISE_SKIP_MIN of the load's start are left out): a slope the points do not
 * support is noise, and so is a rise of one or two allocator steps, which a 20-minute window
 * cannot tell from a trend (the search indexer's RSS outside its heap in session 9's run: flat
 * at 58.6 MB, one step of 0.5 MB, flat, one of 0.3 MB, flat; 0.8 MB in all, the bound's whole
 * allowance over 20 minutes). A steady leak rises in the warm-up as in the window, so its
 * residuals there stay small and the floor low.
 */
export function memoryGrowth(samples: MemorySample[], doublingHours: number, warmup: MemorySample[] = []): MemoryGrowth {
  const minutes = doublingHours * 60;
  const at = (x: MemorySample) => x.t / 60_000;
  const warm = warmup.filter((x) => at(x) >= NOISE_SKIP_MIN);
  const rssOf = (xs: MemorySample[]) => xs.map((x) => ({ x: at(x), y: x.rssMB }));
  const heapOf = (xs: MemorySample[]) => xs.filter((x) => x.heapMB !== undefined).map((x) => ({ x: at(x), y: x.heapMB! }));
  const offOf = (xs: MemorySample[]) => xs.filter((x) => x.heapPhysicalMB !== undefined).map((x) => ({ x: at(x), y: (x.rssAnonMB ?? x.rssMB) - x.heapPhysicalMB! }));
  const rss = fit(rssOf(samples), minutes, rssOf(warm));
  const heap = fit(heapOf(samples), minutes, heapOf(warm));
  const gcs = majorGcPoints(samples, at);
  const liveHeap = gcs.length >= MIN_MAJOR_GCS ? fit(gcs, minutes, majorGcPoints(warm, at)) : null;
  const off = offOf(samples);
  const offHeap = off.length >= 3 ? fit(off, minutes, offOf(warm)) : null;
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Label values of one series. */
export type Labels<L extends string> = Partial<Record<L, string | number>>;

export interface CounterMetric<L extends string = string> {
  inc(labels?: Labels<L>, by?: number): void;
}

export interface GaugeMetric<L extends string = string> {
  set(labels: Labels<L>, value: number): void;
}

export interface HistogramMetric<L extends string = string> {
  /** Records one observation (seconds, for durations). */
  observe(labels: Labels<L>, value: number): void;
  /** Starts a clock; the returned function records the seconds since then with the labels merged. */
  startTimer(labels?: Labels<L>): (more?: Labels<L>) => void;
}

/** A gauge's value(s) read at scrape time; may be async (e.g. a database count). */
export type GaugeCollect<L extends string> = () =>
  | number
  | { labels: Labels<L>; value: number }[]
  | Promise<number | { labels: Labels<L>; value: number }[]>;

/** Latency buckets, seconds: 1 ms .. 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A service's Prometheus metrics: a registry of its own (no global state, so tests can build
 * several services in one process), Node's default process metrics plus memory after the newest
 * major GC (the live heap), and every series prefixed with `conversa_`.
 */
export interface Metrics {
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): CounterMetric<L>;
  /** A gauge; with `collect`, its value is read at each scrape (e.g. consumer lag; may be async). */
  gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    collect?: GaugeCollect<L>,
  ): GaugeMetric<L>;
  /** A histogram; `buckets` default to LATENCY_BUCKETS (seconds). */
  histogram<L extends string = never>(name: string, help: string, labelNames?: readonly L[], buckets?: readonly number[]): HistogramMetric<L>;
  /**
   * A counter whose total is read at each scrape from a monotonic source a component keeps
   * (e.g. the outbox relay's published count), so the component needs no metrics dependency.
   */
  observedCounter(name: string, help: string, read: () => number): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const PREFIX = 'conversa_';

/** The process's memory as the newest major (mark-sweep-compact) GC left it; one observer per process. */
interface AfterMajorGc {
  /** Heap used just after it: the live heap, what a leak makes grow (heap used between GCs is mostly garbage). */
  heapUsedBytes: number;
  /** performance.now() of its end. */
  at: number;
}
let afterMajorGc: AfterMajorGc | undefined;
let gcObserver: PerformanceObserver | undefined;

function observeMajorGcs(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== perfConstants.NODE_PERFORMANCE_GC_MAJOR) continue;
      // Read when the observer runs (soon after the GC): what was allocated in between is counted.
      afterMajorGc = { heapUsedBytes: process.memoryUsage().heapUsed, at: e.startTime + e.duration };
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/**
 * The live heap (heap used as the newest major GC left it) and the heap's resident pages. Heap
 * used and RSS sampled at random times move with V8's heap sizing (garbage piles up to the next
 * major GC, over minutes when a process allocates slowly): a leak is read from the live heap,
 * and from RSS minus the resident heap for memory outside it.
 */
function registerAfterMajorGc(registry: Registry): void {
  observeMajorGcs();
  const gauge = (name: string, help: string, read: (a: AfterMajorGc) => number) => {
    const g: Gauge = new Gauge({
      name: PREFIX + name,
      help,
      registers: [registry],
      collect() {
        if (afterMajorGc) g.set(read(afterMajorGc));
        else g.reset();
      },
    });
  };
  gauge('nodejs_heap_after_major_gc_bytes', 'V8 heap used just after the newest major (mark-sweep-compact) GC: the live heap.', (a) => a.heapUsedBytes);
  // Committed heap pages are resident only once touched: RSS − this is what lives outside the heap.
  new Gauge({
    name: PREFIX + 'nodejs_heap_physical_bytes',
    help: 'V8 heap memory backed by physical pages (of the committed heap total): RSS minus this is memory outside the V8 heap.',
    registers: [registry],
    collect() {
      this.set(getHeapStatistics().total_physical_size);
    },
  });
  gauge('nodejs_major_gc_at_seconds', 'When the newest major GC ended (performance.now(), seconds since the process started).', (a) => a.at / 1_000);
}

export function createMetrics(service: string, opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: PREFIX });
    registerAfterMajorGc(registry);
  }
  return {
    counter(name, help, labelNames = []) {
      const c = new Counter({ name: PREFIX + name, help, labelNames: [...labelNames], registers: [registry] });
      return {
        inc: (labels, by = 1) => (labels ? c.inc(labels, by) : c.inc(by)),
      };
    },
    gauge(name, help, labelNames = [], collect) {
      const g: Gauge = new Gauge({
        name: PREFIX + name,
        help,
        labelNames: [...labelNames],
        registers: [registry],
        ...(collect
          ? {
              async collect() {
                const v = await collect();
                if (typeof v === 'number') g.set(v);
                else {
                  // Series that disappeared (a released partition, a drained room) must not linger.
                  g.reset();
                  for (const s of v) g.set(s.labels as Record<string, string | number>, s.value);
                }
              },
            }
          : {}),
      });
      return { set: (labels, value) => g.set(labels as Record<string, string | number>, value) };
    },
    histogram(name, help, labelNames = [], buckets = LATENCY_BUCKETS) {
      const h: Histogram = new Histogram({ name: PREFIX + name, help, labelNames: [...labelNames] as string[], buckets: [...buckets], registers: [registry] });
      return {
        observe: (labels, value) => h.observe(labels as Record<string, string | number>, value),
        startTimer(labels = {}) {
          const started = process.hrtime.bigint();
          return (more = {}) => {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            h.observe({ ...labels, ...more } as Record<string, string | number>, seconds);
          };
        },
      };
    },
    observedCounter(name, help, read) {
      const c: Counter = new Counter({
        name: PREFIX + name,
        help,
        registers: [registry],
        collect() {
          c.reset();
          c.inc(read());
        },
      });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** Answers GET /metrics from `metrics`; returns true when it handled the request. */
export function handleMetrics(req: IncomingMessage, res: ServerResponse, metrics: Metrics): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  metrics.render().then(
    ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
    (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e instanceof Error ? e.message : String(e)}`),
  );
  return true;
}

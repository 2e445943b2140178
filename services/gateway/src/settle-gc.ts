import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection once a connect storm is over. Each connect in flight allocates
 * objects that live for seconds (the upgrade, the handshake, the first Redis round trips),
 * survive two scavenges and are promoted; V8 grows the old generation to hold them, and a
 * gateway of idle sockets then never allocates enough to start another major collection, so
 * the heap stays at the storm's size (docs/performance.md, S1: 37.7 KB of heap per socket
 * against 8.6 KB live). A forced, compacting collection after the storm gives that back at the
 * cost of one pause, instead of `--optimize-for-size`, which makes every message's garbage
 * dearer.
 *
 * Pure bookkeeping here; the collection itself is injected (`fullGc()` in production).
 */
export interface SettleOptions {
  /** Connects since the last collection that make a storm (1,000; 0: never collect). */
  minConnects: number;
  /** How long no connect arrives before the storm counts as over, ms (5 s). */
  quietMs: number;
  collect: () => void;
  /** Told how long each collection took, ms. */
  collected?: (ms: number, connects: number) => void;
}

export class StormSettler {
  private connects = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SettleOptions) {}

  /** A socket connected. */
  connected(): void {
    if (this.o.minConnects <= 0) return;
    this.connects++;
    if (this.connects < this.o.minConnects) return;
    // Re-armed by every connect of the storm: it fires once the connects stop.
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.settle(), this.o.quietMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(): void {
    this.timer = undefined;
    const connects = this.connects;
    this.connects = 0;
    const t0 = performance.now();
    this.o.collect();
    this.o.collected?.(performance.now() - t0, connects);
  }
}

/**
 * V8's full collection with compaction, reached without starting node with --expose-gc: the
 * flag set at run time exposes `gc` to contexts created after it. Compaction is what gives the
 * memory back: after a storm the few live objects are spread over many pages, and a plain full
 * collection frees the garbage but keeps nearly every page (measured: heap total 195 MB for 37
 * MB live, 70 MB once compacted). `--compact-on-every-full-gc` is on only for this collection.
 */
export function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') throw new Error('V8 did not expose gc');
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

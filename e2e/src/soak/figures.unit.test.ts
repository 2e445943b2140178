import { describe, expect, it } from 'vitest';
import { MIN_MAJOR_GCS, memoryGrowth, noiseFloor, processMemory, type MemorySample } from './figures.js';

/** 20 minutes sampled every 10 s: `f(minute, i)` gives the sample's fields. */
function series(f: (min: number, i: number) => Omit<MemorySample, 't'>): MemorySample[] {
  return Array.from({ length: 121 }, (_, i) => ({ t: i * 10_000, ...f(i / 6, i) }));
}
/** A 30-minute run sampled every 10 s, split as the soak splits it: warm-up (first third) and window. */
function run(f: (min: number, i: number) => Omit<MemorySample, 't'>): { warmup: MemorySample[]; window: MemorySample[] } {
  const all = Array.from({ length: 181 }, (_, i) => ({ t: i * 10_000, ...f(i / 6, i) }));
  return { warmup: all.filter((s) => s.t < 600_000), window: all.filter((s) => s.t >= 600_000) };
}
/** A major GC every `every` minutes: its end time (s) as the gauge shows it. */
const gcAt = (min: number, every: number) => Math.floor(min / every) * every * 60 + 1;

describe('memoryGrowth', () => {
  it('calls a V8 saw-tooth with a flat live heap no growth, though RSS and heap used rise', () => {
    // Garbage piles up for 20 minutes (one GC at the start); V8 commits more heap; what survives stays at 33 MB.
    const samples = series((min, i) => ({
      rssMB: 100 + 1.5 * min + (i % 3),
      heapMB: 35 + 0.8 * min + (i % 5),
      heapTotalMB: 45 + 1.5 * min,
      heapPhysicalMB: 44 + 1.5 * min,
      liveHeapMB: 33 + (i % 2) * 0.3,
      majorGcAt: gcAt(min, 4),
    }));
    const g = memoryGrowth(samples, 24);
    expect(g.rss.grows).toBe(true);
    expect(g.majorGcs).toBeGreaterThanOrEqual(MIN_MAJOR_GCS);
    expect(g.liveHeap!.grows).toBe(false);
    expect(g.offHeap!.grows).toBe(false);
    expect(g.grows).toBe(false);
  });

  it('calls a live heap that rises from one major GC to the next growth', () => {
    const samples = series((min) => ({ rssMB: 120, heapMB: 50, heapTotalMB: 70, liveHeapMB: 30 + 0.5 * Math.floor(min / 2) * 2, majorGcAt: gcAt(min, 2) }));
    const g = memoryGrowth(samples, 24);
    expect(g.liveHeap!.grows).toBe(true);
    expect(g.grows).toBe(true);
  });

  it('calls RSS that rises outside the V8 heap growth (native memory, buffers)', () => {
    const samples = series((min, i) => ({ rssMB: 100 + 0.6 * min + (i % 2), heapMB: 40, heapTotalMB: 60, heapPhysicalMB: 58, liveHeapMB: 30, majorGcAt: gcAt(min, 2) }));
    const g = memoryGrowth(samples, 24);
    expect(g.offHeap!.grows).toBe(true);
    expect(g.grows).toBe(true);
  });

  it('takes off the heap pages RSS has caught up with: V8 touching pages it had committed is not growth', () => {
    // Committed stays at 90 MB; its resident part rises 70 → 90 MB and RSS with it.
    const samples = series((min) => ({ rssMB: 130 + min, heapMB: 40, heapTotalMB: 90, heapPhysicalMB: 70 + min, liveHeapMB: 30, majorGcAt: gcAt(min, 2) }));
    const g = memoryGrowth(samples, 24);
    expect(g.offHeap!.slope).toBeCloseTo(0, 6);
    expect(g.grows).toBe(false);
  });

  it('does not call a slope over the bound that the points do not support growth (R² low)', () => {
    // Alternating ±10 MB around a flat line with one high sample late: slope over the bound, no line.
    const samples = series((_min, i) => ({ rssMB: 100 + (i % 2 ? 10 : -10) + (i === 110 ? 40 : 0) }));
    const g = memoryGrowth(samples, 24);
    expect(g.rss.slope).toBeGreaterThan(g.rss.bound);
    expect(g.rss.r2).toBeLessThan(0.5);
    expect(g.grows).toBe(false);
  });

  it('judges heap used when the window holds fewer than MIN_MAJOR_GCS major GCs', () => {
    const samples = series((min) => ({ rssMB: 100, heapMB: 30 + 2 * min, heapTotalMB: 60, liveHeapMB: 28, majorGcAt: 5 }));
    const g = memoryGrowth(samples, 24);
    expect(g.liveHeap).toBeNull();
    expect(g.heap.grows).toBe(true);
    expect(g.grows).toBe(true);
  });

  describe('the noise floor from the warm-up', () => {
    // RSS outside the heap of 58–60 MB: the bound (doubling in 24 h) is ≈ 0.041 MB/min, 0.8 MB over the 20-minute window.
    const jitter = (i: number) => ((i * 7) % 5) * 0.04;

    it('does not call allocator steps growth: flat, a step, flat, a step, no bigger than the warm-up moved', () => {
      // As session 9's search indexer: in the warm-up 58.7, down to 57.2 after the first major GC, up in steps;
      // in the window 58.6 until minute 14.7, 59.1 until minute 22, 59.4 after.
      const off = (min: number) => (min < 1.75 ? 58.7 : min < 4 ? 57.2 : min < 7 ? 58.0 : min < 10 ? 58.6 : min < 14.7 ? 58.6 : min < 22 ? 59.1 : 59.4);
      const { warmup, window } = run((min, i) => ({ rssMB: 33 + off(min) + jitter(i), heapMB: 40, heapTotalMB: 40, heapPhysicalMB: 33, liveHeapMB: 33 }));
      const withoutFloor = memoryGrowth(window, 24);
      expect(withoutFloor.offHeap!.slope).toBeGreaterThan(withoutFloor.offHeap!.bound);
      expect(withoutFloor.offHeap!.r2).toBeGreaterThanOrEqual(0.5);
      expect(withoutFloor.offHeap!.grows).toBe(true);
      const g = memoryGrowth(window, 24, warmup);
      expect(g.offHeap!.rise).toBeLessThanOrEqual(g.offHeap!.floor);
      expect(g.offHeap!.grows).toBe(false);
      expect(g.grows).toBe(false);
    });

    it('still calls a steady leak at twice the bound growth: it rises in the warm-up too, so the floor stays low', () => {
      const { warmup, window } = run((min, i) => ({ rssMB: 33 + 58 + 0.085 * min + jitter(i), heapMB: 40, heapTotalMB: 40, heapPhysicalMB: 33, liveHeapMB: 33 }));
      const g = memoryGrowth(window, 24, warmup);
      expect(g.offHeap!.slope).toBeGreaterThan(2 * g.offHeap!.bound * 0.95);
      expect(g.offHeap!.floor).toBeLessThan(0.3);
      expect(g.offHeap!.rise).toBeGreaterThan(g.offHeap!.floor);
      expect(g.grows).toBe(true);
    });

    it('calls a leak that starts after the warm-up growth', () => {
      const { warmup, window } = run((min, i) => ({ rssMB: 150 + Math.max(0, min - 10) * 0.1 + jitter(i), heapMB: 40, heapTotalMB: 40, heapPhysicalMB: 33, liveHeapMB: 33 }));
      expect(memoryGrowth(window, 24, warmup).grows).toBe(true);
    });

    it('leaves out the first minute and trims the ends: one start-up spike does not raise the floor', () => {
      const pts = Array.from({ length: 60 }, (_, i) => ({ x: 1 + i / 6, y: 50 + jitter(i) + (i === 30 ? 5 : 0) }));
      expect(noiseFloor(pts)).toBeLessThan(0.3);
      expect(noiseFloor(pts.slice(0, 2))).toBe(0);
      const { warmup, window } = run((min, i) => ({ rssMB: (min < 1 ? 170 : 150) + Math.max(0, min - 10) * 0.1 + jitter(i) }));
      expect(memoryGrowth(window, 24, warmup).rss.floor).toBeLessThan(0.3);
    });
  });

  it('judges anonymous memory outside the heap: code pages of the binary faulted in later are not growth', () => {
    // RSS climbs 2 MB over the window, all of it file-backed (RssFile); anonymous RSS and the heap stay flat.
    const { warmup, window } = run((min, i) => {
      const file = 44 + Math.min(2, Math.max(0, min - 14) * 0.5);
      const anon = 80 + (i % 2) * 0.05;
      return { rssMB: anon + file, rssAnonMB: anon, rssFileMB: file, heapMB: 40, heapTotalMB: 60, heapPhysicalMB: 58, liveHeapMB: 33 };
    });
    const g = memoryGrowth(window, 24, warmup);
    expect(g.rss.slope).toBeGreaterThan(g.rss.bound);
    expect(g.offHeap!.slope).toBeCloseTo(0, 2);
    expect(g.grows).toBe(false);
    // The same climb in anonymous memory is growth.
    const leak = run((min, i) => {
      const anon = 80 + Math.min(2, Math.max(0, min - 14) * 0.5) + (i % 2) * 0.05;
      return { rssMB: anon + 44, rssAnonMB: anon, rssFileMB: 44, heapMB: 40, heapTotalMB: 60, heapPhysicalMB: 58, liveHeapMB: 33 };
    });
    expect(memoryGrowth(leak.window, 24, leak.warmup).offHeap!.grows).toBe(true);
  });
});

describe('processMemory', () => {
  it("reads this process's RSS and its anonymous and file-backed parts from /proc", () => {
    const m = processMemory(process.pid)!;
    expect(m.rssMB).toBeGreaterThan(10);
    expect(m.rssAnonMB).toBeGreaterThan(0);
    expect(m.rssFileMB).toBeGreaterThan(0);
    expect(m.rssAnonMB! + m.rssFileMB!).toBeLessThanOrEqual(m.rssMB + 0.01);
    expect(processMemory(2 ** 22 + 12_345)).toBeUndefined();
  });
});

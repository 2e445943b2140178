/**
 * One timer for many deadlines: items are kept in buckets of `resolutionMs` and fired by a
 * single interval, so that tens of thousands of sockets do not each hold a Node timer (a
 * Timeout object, its closure and a slot in libuv's list) for their init timeout or token
 * expiry. A deadline fires at most `resolutionMs` late, never early. Cancelling is O(1): the
 * caller keeps the slot `schedule` returned.
 */
export interface TimerWheelOptions<T> {
  /** Bucket width and tick period, ms (1_000 // 1 s). */
  resolutionMs: number;
  /** Runs for each item whose deadline passed (errors are the callback's to handle). */
  fire: (item: T) => void;
  now?: () => number;
}

export class TimerWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | undefined;
  /** The last bucket that has been fired. */
  private done: number;
  private readonly now: () => number;

  constructor(private readonly opts: TimerWheelOptions<T>) {
    this.now = opts.now ?? Date.now;
    this.done = Math.floor(this.now() / opts.resolutionMs);
  }

  /** Items waiting. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** Fires `item` once `at` (epoch ms) has passed; returns its slot (for cancel). */
  schedule(item: T, at: number): number {
    // The first bucket whose end is at or after the deadline, and never one already fired.
    const slot = Math.max(Math.ceil(at / this.opts.resolutionMs), this.done + 1);
    let b = this.buckets.get(slot);
    if (!b) this.buckets.set(slot, (b = new Set()));
    b.add(item);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.opts.resolutionMs);
      this.timer.unref();
    }
    return slot;
  }

  cancel(item: T, slot: number): void {
    const b = this.buckets.get(slot);
    if (!b) return;
    b.delete(item);
    if (b.size === 0) this.buckets.delete(slot);
  }

  /** Fires every bucket whose time has come (the interval calls it; tests may too). */
  tick(): void {
    const upTo = Math.floor(this.now() / this.opts.resolutionMs);
    for (; this.done < upTo; ) {
      const slot = ++this.done;
      const b = this.buckets.get(slot);
      if (!b) continue;
      this.buckets.delete(slot);
      for (const item of b) this.opts.fire(item);
    }
    if (this.buckets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Drops every item and the interval (shutdown). */
  clear(): void {
    this.buckets.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Work coalesced per key in this process (a message's reaction changes, a thread's recount):
 * at most one flush runs per key, and everything submitted while it runs goes into the one
 * next flush, which starts when the current one ends. So a submission's result always comes
 * from a flush that started after it (it sees the caller's own write), and a storm of a
 * thousand reactions on one message costs a few flushes, not a thousand.
 */
interface Pending<Op, R> {
  ops: Op[];
  settle: { resolve: (r: R) => void; reject: (e: unknown) => void }[];
}

export class KeyedBatches<Op, R> {
  private readonly running = new Map<string, { next?: Pending<Op, R> }>();

  /** `flush` answers each op of a batch, in order (as many results as ops). */
  constructor(private readonly flush: (key: string, ops: Op[]) => Promise<R[]>) {}

  submit(key: string, op: Op): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const slot = this.running.get(key);
      if (!slot) return this.start(key, { ops: [op], settle: [{ resolve, reject }] });
      slot.next ??= { ops: [], settle: [] };
      slot.next.ops.push(op);
      slot.next.settle.push({ resolve, reject });
    });
  }

  /** Keys with a flush running (for tests and metrics). */
  get size(): number {
    return this.running.size;
  }

  private start(key: string, batch: Pending<Op, R>): void {
    const slot: { next?: Pending<Op, R> } = {};
    this.running.set(key, slot);
    const done = () => {
      this.running.delete(key);
      if (slot.next) this.start(key, slot.next);
    };
    this.flush(key, batch.ops).then(
      (results) => {
        batch.settle.forEach((s, i) => (i < results.length ? s.resolve(results[i]!) : s.reject(new Error(`flush of ${key} answered ${results.length} of ${batch.ops.length} ops`))));
        done();
      },
      (e: unknown) => {
        for (const s of batch.settle) s.reject(e);
        done();
      },
    );
  }
}

/** A recount per key: every caller of one run gets its result. */
export class Recounts<T> {
  private readonly batches: KeyedBatches<void, T>;

  constructor(recount: (key: string) => Promise<T>) {
    this.batches = new KeyedBatches<void, T>(async (key, ops): Promise<T[]> => {
      const value = await recount(key);
      return ops.map(() => value);
    });
  }

  run(key: string): Promise<T> {
    return this.batches.submit(key, undefined);
  }

  get size(): number {
    return this.batches.size;
  }
}

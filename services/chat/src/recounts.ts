/**
 * Recounts (a thread's reply count, a message's reactions) coalesced per key in this process:
 * at most one runs per key, and every call that arrives while it runs joins the one next run,
 * which starts when the current one ends. So a call's result always comes from a run that
 * started after the call (it sees the caller's own write), and a storm of a thousand
 * reactions on one message costs a few recounts, not a thousand.
 */
interface Slot<T> {
  /** The run queued behind the current one, shared by everyone who called meanwhile. */
  next?: Promise<T>;
  settle?: { resolve: (v: T) => void; reject: (e: unknown) => void };
}

export class Recounts<T> {
  private readonly running = new Map<string, Slot<T>>();

  constructor(private readonly recount: (key: string) => Promise<T>) {}

  run(key: string): Promise<T> {
    const slot = this.running.get(key);
    if (!slot) return this.start(key);
    slot.next ??= new Promise<T>((resolve, reject) => (slot.settle = { resolve, reject }));
    return slot.next;
  }

  /** Keys with a recount running (for tests and metrics). */
  get size(): number {
    return this.running.size;
  }

  private start(key: string): Promise<T> {
    const slot: Slot<T> = {};
    this.running.set(key, slot);
    const p = this.recount(key);
    const done = () => {
      this.running.delete(key);
      if (slot.settle) this.start(key).then(slot.settle.resolve, slot.settle.reject);
    };
    p.then(done, done);
    return p;
  }
}

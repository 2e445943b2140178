import { LRUCache } from 'lru-cache';

/**
 * Each room's slow mode (seconds between one person's messages; 0: none) as a gateway reads
 * it at every send, cached so that a send costs no database read while nothing changes. The
 * setting lives on the room (written by chat, `room.setSlowMode`); the gateway that served the
 * change forgets its entry at once (`forget`), the others trust theirs for at most `ttlMs`.
 * Concurrent reads of one room share one trip; a read in flight while the room was forgotten
 * is not kept (a generation counter), so a stale value cannot outlive the change here.
 */
export class SlowModeCache {
  private readonly seconds: LRUCache<string, number>;
  private readonly inFlight = new Map<string, Promise<number>>();
  private generation = 0;

  constructor(
    /** The room's stored setting; 0 for a room that does not exist (chat refuses the send). */
    private readonly read: (room: string) => Promise<number>,
    opts: { ttlMs: number; max?: number },
  ) {
    this.seconds = new LRUCache({ max: opts.max ?? 50_000, ttl: opts.ttlMs });
  }

  /** The room's slow mode, seconds. */
  get(room: string): Promise<number> {
    const cached = this.seconds.get(room);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.inFlight.get(room);
    if (pending) return pending;
    const generation = this.generation;
    const p = this.read(room)
      .then((s) => {
        if (generation === this.generation) this.seconds.set(room, s);
        return s;
      })
      .finally(() => this.inFlight.delete(room));
    this.inFlight.set(room, p);
    return p;
  }

  /** The room's setting changed. */
  forget(room: string): void {
    this.generation++;
    this.seconds.delete(room);
    this.inFlight.delete(room);
  }
}

/** What to do with a message of a room stream, given the last seq delivered. */
export type SeqVerdict = 'deliver' | 'duplicate' | 'gap';

/**
 * Keeps the last `seq` delivered per room and judges each arriving message (pure). The server
 * sends every room in order without gaps or duplicates, also across a resume with `after`; this
 * is the client's own guard at the seams (a message delivered twice around a reconnect is
 * dropped; a gap makes the stream resubscribe from the last seq instead of skipping ahead).
 */
export class SeqTracker {
  private readonly last = new Map<string, number>();

  /** The last seq delivered in the room, or undefined before the first. */
  get(room: string): number | undefined {
    return this.last.get(room);
  }

  /** Starts (or moves) the room at `seq`: messages up to it count as delivered. */
  set(room: string, seq: number): void {
    this.last.set(room, seq);
  }

  judge(room: string, seq: number): SeqVerdict {
    const last = this.last.get(room);
    if (last === undefined) return 'deliver';
    if (seq <= last) return 'duplicate';
    return seq === last + 1 ? 'deliver' : 'gap';
  }

  /** Judges and, when it is to be delivered, records it. */
  accept(room: string, seq: number): SeqVerdict {
    const v = this.judge(room, seq);
    if (v === 'deliver') this.last.set(room, seq);
    return v;
  }
}

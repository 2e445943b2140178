import type { DomainEvent } from '@conversa/contracts';
import type { ReconcileRepository, StoredPosted } from '@conversa/store';

/**
 * Proves the audit log complete for messages and restores what is missing.
 *
 * Every stored message keeps the `message.posted` event the relay published for it (same id),
 * so the store itself says which events the log must hold. Per room, from the room's
 * checkpoint on: read the messages by seq, look their events up in the log by id, hand the
 * missing ones back to the events topic (`republish`: the normal path, so the audit consumer
 * appends them to their chain as it appends everything, once by id, and `audit verify` keeps
 * passing), and move the checkpoint over the prefix that is proven present. A run costs what
 * was written since the last one, not what the database holds.
 *
 * Messages younger than `settleMs` are left to the normal path (their events may be on their
 * way); a republished event is confirmed by a later run before the checkpoint moves past it.
 */
export interface ReconcileDeps {
  repo: Pick<ReconcileRepository, 'roomIds' | 'checkpoints' | 'advance' | 'postedRange' | 'audited'>;
  /** Newest seq of a room (`MessageRepository.lastSeq`), galloping up from `hint`. */
  lastSeq(room: string, hint: number): Promise<number>;
  /** Publishes events to the events topic; resolves once Kafka acknowledged them. */
  republish(events: DomainEvent[]): Promise<void>;
  now?: () => Date;
  /** Messages younger than this are not checked yet, ms (30 s). */
  settleMs?: number;
  /** Messages read per room and step (500). */
  chunk?: number;
  /** Rooms reconciled at once (8). */
  concurrency?: number;
}

export interface ReconcileReport {
  rooms: number;
  /** Messages whose event was looked up in the log. */
  checked: number;
  /** Events found missing from the log and handed back to the events topic. */
  republished: DomainEvent[];
  /** Messages stored without their event (written before events were kept with messages): cannot be restored. */
  withoutEvent: number;
}

/** What one room's messages say: the events missing from the log, and how far the log is proven complete. */
export function assess(from: number, messages: readonly StoredPosted[], audited: ReadonlySet<string>): { missing: DomainEvent[]; provenThrough: number; withoutEvent: number } {
  const missing: DomainEvent[] = [];
  let provenThrough = from - 1;
  let contiguous = true;
  let withoutEvent = 0;
  for (const m of messages) {
    const present = m.posted === null || audited.has(m.posted.id);
    if (m.posted === null) withoutEvent++;
    else if (!present) missing.push(m.posted);
    if (contiguous && present) provenThrough = m.seq;
    else contiguous = false;
  }
  return { missing, provenThrough, withoutEvent };
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = (deps.now ?? (() => new Date()))();
  const settledBefore = now.getTime() - (deps.settleMs ?? 30_000);
  const chunk = deps.chunk ?? 500;
  const rooms = await deps.repo.roomIds();
  const checkpoints = await deps.repo.checkpoints();
  const report: ReconcileReport = { rooms: rooms.length, checked: 0, republished: [], withoutEvent: 0 };

  const one = async (room: string) => {
    const start = checkpoints.get(room) ?? 0;
    const last = await deps.lastSeq(room, start);
    // Every chunk is checked (all that is missing goes back in one run), but the checkpoint
    // only moves over the prefix proven present: a republished event is confirmed next run.
    let blocked = false;
    for (let from = start + 1; from <= last; from += chunk) {
      const to = Math.min(last, from + chunk - 1);
      const read = await deps.repo.postedRange(room, from, to);
      // Up to the first message too young to judge (the prefix: a later, older one cannot jump it).
      const young = read.findIndex((m) => m.createdAt.getTime() > settledBefore);
      const settled = young < 0 ? read : read.slice(0, young);
      const audited = await deps.repo.audited(settled.flatMap((m) => (m.posted ? [m.posted.id] : [])));
      const { missing, provenThrough, withoutEvent } = assess(from, settled, audited);
      report.checked += settled.length;
      report.withoutEvent += withoutEvent;
      if (missing.length > 0) {
        await deps.republish(missing);
        report.republished.push(...missing);
      }
      if (!blocked && provenThrough >= from) await deps.repo.advance(room, provenThrough);
      blocked ||= provenThrough < to;
      if (settled.length < to - from + 1) break; // too young, or the range ends early
    }
  };

  const queue = [...rooms];
  await Promise.all(
    Array.from({ length: Math.min(deps.concurrency ?? 8, queue.length) }, async () => {
      for (let room = queue.shift(); room !== undefined; room = queue.shift()) await one(room);
    }),
  );
  return report;
}

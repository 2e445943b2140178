import type { DomainEvent } from '@conversa/contracts';
import type { MessageDoc, PinDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';
import type { MessageRepository } from './messages.js';

/**
 * A row whose message is not pinned and that is older than this is the trace of an interrupted
 * pin or unpin, dropped when it stands in the way of the room's limit (60_000 // 1 min). A pin
 * in progress holds its row for milliseconds between its two writes; a retry whose trace was
 * dropped writes its row again.
 */
export const PIN_TRACE_AGE_MS = 60_000;

/** What `PinRepository.pin` did. */
export type PinOutcome =
  /** Pinned now, with its event stored. */
  | { kind: 'pinned'; message: MessageDoc }
  /** Pinned already: nothing written. */
  | { kind: 'unchanged'; message: MessageDoc }
  /** The room holds its limit of pins: nothing written. */
  | { kind: 'full'; limit: number }
  /** No such message, or it is not VISIBLE (any more): nothing written. */
  | { kind: 'refused'; message: MessageDoc | null };

/** What `PinRepository.unpin` did: `changed` false when it was not pinned (no event). */
export interface UnpinOutcome {
  changed: boolean;
  message: MessageDoc | null;
}

/**
 * Pins (API-product.graphql). The truth is the message's `pinnedAt`, written with its
 * `message.pinned`/`message.unpinned` event in the same single-document write; the `pins`
 * collection (`_id` = the message id) is the room's index of them, at most `limit` rows per
 * room, so listing and counting a room's pins never reads its messages.
 *
 * Two documents without a transaction, so the writes are ordered for a crash between them to be
 * harmless and repaired by the command's retry (BullMQ runs a failed job again):
 * - pin: the row first, then the flag. Interrupted, it leaves a row whose message is not pinned,
 *   which readers skip (they check the flag); the retry finds its row (kept, with its time) and
 *   sets the flag.
 * - unpin: the flag first, then the row. Interrupted, it leaves the same kind of row; the retry
 *   finds nothing to unpin and deletes the row.
 * A row left for good (a job that never succeeds) is dropped when it stands in the way of the
 * room's limit (PIN_TRACE_AGE_MS).
 *
 * Concurrency: both run under the room's pin lock (the store's document locks: Redis across the
 * chat processes), so the count, the row and the flag of one room change one command at a
 * time; the limit holds against two concurrent pins. The count is taken after the row is in,
 * so even without that lock (real MongoDB, where document locks are off and the lock holds
 * within one process) two pins racing for the last place cannot both win: each sees the other's
 * row, and at worst both are refused.
 */
export class PinRepository {
  constructor(
    private readonly db: StoreConnection,
    private readonly messages: MessageRepository,
  ) {}

  /** Runs `task` holding the room's pin lock (the writes inside take their documents' locks too). */
  private locked<T>(room: string, task: () => Promise<T>): Promise<T> {
    return this.db.locked('pins', room, task);
  }

  /**
   * Pins message `id` of `room` unless the room already holds `limit` pins, storing `event`
   * with the flag. Idempotent: a retry after an interruption finishes the same pin.
   */
  pin(p: { id: string; room: string; by: string; at: Date; limit: number }, event: DomainEvent): Promise<PinOutcome> {
    return this.locked(p.room, async () => {
      const current = await this.messages.findById(p.id);
      if (!current || current.room !== p.room || current.status !== 'VISIBLE') return { kind: 'refused', message: current };
      if (current.pinnedAt) return { kind: 'unchanged', message: current };
      const row = await this.putRow({ _id: p.id, room: p.room, at: p.at, by: p.by });
      if (!(await this.withinLimit(p.room, p.limit, p.id, p.at))) {
        await this.removeRow(p.id);
        return { kind: 'full', limit: p.limit };
      }
      // A row of an interrupted attempt keeps its time: the pin dates from the first attempt.
      const after = await this.messages.setPinned(p.id, { at: row.at, by: row.by }, event);
      if (after) return { kind: 'pinned', message: after };
      // Changed between the read and the write (a delete or a hide: those do not take this lock).
      const now = await this.messages.findById(p.id);
      if (now?.pinnedAt) return { kind: 'unchanged', message: now };
      await this.removeRow(p.id); // not pinned: the row, ours or an earlier attempt's, is a trace
      return { kind: 'refused', message: now };
    });
  }

  /** Unpins message `id` of `room`, storing `event` with the flag. Idempotent. */
  unpin(p: { id: string; room: string }, event: DomainEvent): Promise<UnpinOutcome> {
    return this.locked(p.room, async () => {
      const after = await this.messages.setPinned(p.id, null, event);
      // Whether or not this call cleared the flag: an interrupted unpin leaves its row.
      await this.removeRow(p.id);
      return after ? { changed: true, message: after } : { changed: false, message: await this.messages.findById(p.id) };
    });
  }

  /**
   * The room's pinned messages, newest pin first (ties: by id), without their outboxes: at most
   * the room's limit of rows, then point look-ups of their messages. Rows whose message is not
   * pinned (an interrupted pin or unpin) are left out. Statuses are the caller's business.
   */
  async pinnedMessages(room: string): Promise<MessageDoc[]> {
    const rows = await this.rowsOf(room);
    const docs = await this.messages.findByIds(rows.map((r) => r._id));
    return docs
      .filter((d): d is MessageDoc & { pinnedAt: Date } => d.room === room && d.pinnedAt instanceof Date)
      .sort((a, b) => b.pinnedAt.getTime() - a.pinnedAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  /** The room's pin rows, as stored (traces of interrupted pins included). */
  rowsOf(room: string): Promise<PinDoc[]> {
    return this.db.models.Pin.find({ room }).lean<PinDoc[]>().exec();
  }

  /** Inserts the row; one there already (an interrupted attempt's) is returned as it is. */
  private async putRow(row: PinDoc): Promise<PinDoc> {
    try {
      await this.db.models.Pin.create(row);
      return row;
    } catch (e) {
      if (!asDuplicate(e)) throw e;
      const existing = await this.db.models.Pin.findById(row._id).lean<PinDoc>().exec();
      // Deleted in between (an unpin in another process, on a server without document locks): try again.
      return existing ?? this.putRow(row);
    }
  }

  private async removeRow(id: string): Promise<void> {
    await this.db.models.Pin.deleteOne({ _id: id }).exec();
  }

  /**
   * Whether the room's rows, `own` (just put) included, are within `limit`. Over it, traces
   * (rows older than PIN_TRACE_AGE_MS whose message is not pinned; never `own`) are dropped
   * first, and the rest counted again. Only old rows: without the lock (see the class) a young
   * one may be another pin's, between its row and its flag.
   */
  private async withinLimit(room: string, limit: number, own: string, now: Date): Promise<boolean> {
    // The rows themselves, not a count: at most limit + 1 small rows, and a find on `room` is
    // what FerretDB pushes down to its index (an aggregate's count is not checked to be).
    const rows = await this.rowsOf(room);
    if (rows.length <= limit) return true;
    const pinned = new Set((await this.messages.findByIds(rows.map((r) => r._id))).filter((m) => m.pinnedAt).map((m) => m._id));
    const old = now.getTime() - PIN_TRACE_AGE_MS;
    const traces = rows.filter((r) => r._id !== own && !pinned.has(r._id) && r.at.getTime() < old);
    for (const t of traces) await this.removeRow(t._id);
    return rows.length - traces.length <= limit;
  }
}

import { Schema, type Model } from 'mongoose';
import type { DomainEvent } from '@conversa/contracts';
import { messageId } from './messages.js';
import type { Models } from './models.js';
import type { StoreConnection } from './connection.js';

/** How far the audit reconciliation has proven one room's messages to be in the audit log. */
export interface ReconcileCheckpointDoc {
  /** The room id. */
  _id: string;
  /** Every message of the room with seq ≤ this has its `message.posted` event in the audit log. */
  seq: number;
  at: Date;
}

/** A stored message's `message.posted` event, as the relay published it (same id). */
export interface StoredPosted {
  messageId: string;
  seq: number;
  createdAt: Date;
  /** Null on documents written before the event was kept with the message. */
  posted: DomainEvent | null;
}

const checkpointSchema = new Schema<ReconcileCheckpointDoc>(
  { _id: { type: String, required: true }, seq: { type: Number, required: true }, at: { type: Date, required: true } },
  { collection: 'audit_reconcile', versionKey: false, strict: 'throw' },
);

/**
 * What the audit reconciliation reads and writes: room ids, a room's messages by seq (point
 * look-ups by `_id`, the one look-up every backend serves without a scan), audit entries by
 * event id, and one checkpoint per room. A run costs what arrived since the last checkpoint,
 * not what the database holds.
 */
export class ReconcileRepository {
  private readonly Checkpoint: Model<ReconcileCheckpointDoc>;
  private readonly models: Models;

  constructor(db: StoreConnection) {
    const connection = db.connection;
    this.models = db.models;
    this.Checkpoint = connection.models.ReconcileCheckpoint ?? connection.model<ReconcileCheckpointDoc>('ReconcileCheckpoint', checkpointSchema);
  }

  /** Every room id (rooms are few next to messages; one read per run). */
  async roomIds(): Promise<string[]> {
    const rows = await this.models.Room.find().select({ _id: 1 }).lean<{ _id: string }[]>().exec();
    return rows.map((r) => r._id);
  }

  async checkpoints(): Promise<Map<string, number>> {
    const rows = await this.Checkpoint.find().lean<ReconcileCheckpointDoc[]>().exec();
    return new Map(rows.map((r) => [r._id, r.seq]));
  }

  /** Moves a room's checkpoint forward (never back: a concurrent run may have gone further). */
  async advance(room: string, seq: number): Promise<void> {
    const current = await this.Checkpoint.findById(room).lean<ReconcileCheckpointDoc>().exec();
    if (current && current.seq >= seq) return;
    if (current) await this.Checkpoint.updateOne({ _id: room }, { $set: { seq, at: new Date() } }).exec();
    else
      await this.Checkpoint.create({ _id: room, seq, at: new Date() }).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 11000) throw e; // another run created it: the next run moves it on
      });
  }

  /** The room's messages with seq in [from, to], ascending, stopping at the first missing one. */
  async postedRange(room: string, from: number, to: number): Promise<StoredPosted[]> {
    const out: StoredPosted[] = [];
    const BATCH = 32;
    for (let start = Math.max(1, from); start <= to; start += BATCH) {
      const seqs = Array.from({ length: Math.min(BATCH, to - start + 1) }, (_, i) => start + i);
      const docs = await Promise.all(
        seqs.map((seq) =>
          this.models.Message.findById(messageId(room, seq))
            .select({ seq: 1, createdAt: 1, posted: 1 })
            .lean<{ _id: string; seq: number; createdAt: Date; posted?: DomainEvent | null }>()
            .exec(),
        ),
      );
      for (const d of docs) {
        if (!d) return out;
        out.push({ messageId: d._id, seq: d.seq, createdAt: d.createdAt, posted: d.posted ?? null });
      }
    }
    return out;
  }

  /** Which of the event ids have an audit entry (point look-ups by `_id`). */
  async audited(eventIds: readonly string[]): Promise<Set<string>> {
    const found = await Promise.all(eventIds.map(async (id) => ((await this.models.Audit.exists({ _id: id }).exec()) ? id : undefined)));
    return new Set(found.filter((id): id is string => id !== undefined));
  }
}

import type { AuditChainDoc, AuditDoc } from './models.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';

export interface AuditQuery {
  room?: string;
  actor?: string;
  type?: string;
  since?: Date;
  until?: Date;
  /** Exclusive position (at, id) to continue after. */
  after?: { at: Date; id: string };
  limit: number;
  /** Newest first instead of oldest first (the default). */
  newestFirst?: boolean;
}

/** The chain fields of an audit entry that is already stored. */
export type StoredChainFields = Pick<AuditDoc, '_id' | 'chain' | 'chainSeq' | 'hash'>;

/** The audit log (`audit_log`, one entry per event id) and its hash chains' heads (`audit_chains`). */
export class AuditRepository {
  constructor(private readonly db: StoreConnection) {}

  /** Appends entries; ones already present (same event id) are skipped. Returns how many were new. */
  async append(entries: AuditDoc[]): Promise<number> {
    if (entries.length === 0) return 0;
    try {
      const res = await this.db.models.Audit.insertMany(entries, {
        ordered: false,
        rawResult: true,
      });
      return res.insertedCount;
    } catch (e) {
      const err = e as {
        code?: number;
        writeErrors?: { code?: number; err?: { code?: number } }[];
        insertedDocs?: unknown[];
        result?: { insertedCount?: number };
      };
      const writeErrors = err.writeErrors ?? [];
      const allDup =
        (err.code === 11000 || writeErrors.length > 0) &&
        writeErrors.every((w) => (w.code ?? w.err?.code) === 11000);
      if (!allDup) throw e;
      return err.result?.insertedCount ?? entries.length - writeErrors.length;
    }
  }

  async page(q: AuditQuery): Promise<AuditDoc[]> {
    const filter: Record<string, unknown> = {};
    if (q.room !== undefined) filter.room = q.room;
    if (q.actor !== undefined) filter.actor = q.actor;
    if (q.type !== undefined) filter.type = q.type;
    const at: Record<string, Date> = {};
    if (q.since) at.$gte = q.since;
    if (q.until) at.$lt = q.until;
    if (Object.keys(at).length > 0) filter.at = at;
    // The cursor is the last (at, id) returned; the next page continues past it in the same order.
    const past = q.newestFirst ? '$lt' : '$gt';
    if (q.after) {
      filter.$or = [
        { at: { [past]: q.after.at } },
        { at: q.after.at, _id: { [past]: q.after.id } },
      ];
    }
    const dir = q.newestFirst ? -1 : 1;
    return this.db.models.Audit.find(filter)
      .sort({ at: dir, _id: dir })
      .limit(q.limit)
      .lean<AuditDoc[]>()
      .exec();
  }

  count(filter: { room?: string; type?: string } = {}): Promise<number> {
    return this.db.models.Audit.countDocuments(filter).exec();
  }

  // ---- chains ------------------------------------------------------------------

  /** Which of these event ids are in the log already, with their chain position. */
  entriesByIds(ids: readonly string[]): Promise<StoredChainFields[]> {
    return this.db.byIds(ids, (filter) =>
      this.db.models.Audit.find(filter)
        .select({ _id: 1, chain: 1, chainSeq: 1, hash: 1 })
        .lean<StoredChainFields[]>()
        .exec(),
    );
  }

  /** The head records of these chains (by `_id`). */
  async chainHeads(chains: readonly string[]): Promise<Map<string, { seq: number; hash: string }>> {
    const rows = await this.db.byIds(chains, (filter) =>
      this.db.models.AuditChain.find(filter).lean<AuditChainDoc[]>().exec(),
    );
    return new Map(rows.map((r) => [r._id, { seq: r.seq, hash: r.hash }]));
  }

  /** Every chain head record, for the verifier. */
  async allChainHeads(): Promise<Map<string, { seq: number; hash: string }>> {
    const rows = await this.db.models.AuditChain.find().lean<AuditChainDoc[]>().exec();
    return new Map(rows.map((r) => [r._id, { seq: r.seq, hash: r.hash }]));
  }

  /** The stored entry with the highest chainSeq of a chain: repairs a head left behind by a crash. */
  chainTail(chain: string): Promise<StoredChainFields | null> {
    return this.db.models.Audit.findOne({ chain })
      .sort({ chainSeq: -1 })
      .select({ _id: 1, chain: 1, chainSeq: 1, hash: 1 })
      .lean<StoredChainFields>()
      .exec();
  }

  /**
   * Inserts linked entries of one chain in order, stopping at the first refused one. A
   * DuplicateKeyError means a chain position (or an event id) was taken meanwhile.
   */
  async insertChained(entries: AuditDoc[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.db.models.Audit.insertMany(entries, { ordered: true });
    } catch (e) {
      const dup =
        asDuplicate(e) ?? asDuplicate((e as { writeErrors?: unknown[] }).writeErrors?.[0]);
      throw dup ?? e;
    }
  }

  /**
   * Moves a chain's head record forward (never back: a stale writer cannot rewind it).
   * `exists: false` says the caller read no head record for the chain: it is created first
   * (one write instead of a failed update, a look-up and the insert); a concurrent creator
   * makes that fall back to the update.
   */
  async setChainHead(chain: string, head: { seq: number; hash: string }, opts: { exists?: boolean } = {}): Promise<void> {
    if (opts.exists === false) {
      try {
        await this.db.models.AuditChain.create({ _id: chain, seq: head.seq, hash: head.hash, updatedAt: new Date() });
        return;
      } catch (e) {
        if (!asDuplicate(e)) throw e;
      }
    }
    const res = await this.db.models.AuditChain.updateOne(
      { _id: chain, seq: { $lt: head.seq } },
      { $set: { seq: head.seq, hash: head.hash, updatedAt: new Date() } },
    ).exec();
    if (res.matchedCount === 1) return;
    // No head yet: create it; a concurrent creator wins and the update above applies next time.
    const exists = await this.db.models.AuditChain.exists({ _id: chain }).exec();
    if (!exists) {
      await this.db.models.AuditChain.create({
        _id: chain,
        seq: head.seq,
        hash: head.hash,
        updatedAt: new Date(),
      }).catch((e: unknown) => {
        if (!asDuplicate(e)) throw e;
      });
    }
  }

  /** Every chained entry in (chain, chainSeq) order, streamed: what `audit verify` reads. */
  chainedCursor(): AsyncIterable<AuditDoc> {
    return this.db.models.Audit.find({ chain: { $exists: true } })
      .sort({ chain: 1, chainSeq: 1 })
      .lean<AuditDoc>()
      .cursor({ batchSize: 1_000 });
  }

  /** Entries written before the log was chained. */
  countUnchained(): Promise<number> {
    return this.db.models.Audit.countDocuments({ chain: { $exists: false } }).exec();
  }
}

import type { BlockDoc } from './blocks-model.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';

/** A block's `_id`: who blocks whom, so that every check is a point look-up. */
export const blockId = (blocker: string, blocked: string): string => `${blocker}/${blocked}`;

/**
 * Blocks (API-product.graphql): private to the blocker, so they emit no events. Inserts and
 * deletes are single-document and idempotent, so no document lock is needed.
 */
export class BlockRepository {
  constructor(private readonly db: StoreConnection) {}

  /** Stores the block; false when it existed already. */
  async block(blocker: string, blocked: string, at: Date): Promise<boolean> {
    try {
      await this.db.models.Block.create({ _id: blockId(blocker, blocked), blocker, blocked, at });
      return true;
    } catch (e) {
      if (asDuplicate(e)) return false;
      throw e;
    }
  }

  /** Lifts the block; false when there was none. */
  async unblock(blocker: string, blocked: string): Promise<boolean> {
    const res = await this.db.models.Block.deleteOne({ _id: blockId(blocker, blocked) }).exec();
    return res.deletedCount === 1;
  }

  /** Whether `blocker` blocks `blocked`. */
  async blocks(blocker: string, blocked: string): Promise<boolean> {
    const b = await this.db.models.Block.findById(blockId(blocker, blocked)).select({ _id: 1 }).lean<Pick<BlockDoc, '_id'>>().exec();
    return b !== null;
  }

  /** Of `blockers`, those who block `blocked` (point look-ups). */
  async blockersOf(blocked: string, blockers: readonly string[]): Promise<string[]> {
    const rows = await this.db.byIds(
      blockers.map((b) => blockId(b, blocked)),
      (filter) => this.db.models.Block.find(filter).select({ blocker: 1 }).lean<Pick<BlockDoc, 'blocker'>[]>().exec(),
    );
    return rows.map((r) => r.blocker);
  }

  /** The people `blocker` blocks, oldest block first. */
  async blockedBy(blocker: string, limit = 1_000): Promise<string[]> {
    const rows = await this.db.models.Block.find({ blocker }).sort({ at: 1 }).limit(limit).select({ blocked: 1 }).lean<Pick<BlockDoc, 'blocked'>[]>().exec();
    return rows.map((r) => r.blocked);
  }
}

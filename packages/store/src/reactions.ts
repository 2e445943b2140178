import { LIMITS, type DomainEvent } from '@conversa/contracts';
import type { MessageDoc, ReactionDoc, ReactionSummary } from './models.js';
import { asDuplicate } from './errors.js';
import type { StoreConnection } from './connection.js';

/** A reaction's _id: one per (message, emoji, person), so a repeat meets the primary key. */
export const reactionId = (message: string, emoji: string, user: string): string => `${message}/${emoji}/${user}`;

/**
 * The summary a message shows, from its active reaction rows: one entry per emoji, most used
 * first (ties: the emoji used first), reactors earliest first, at most LIMITS.reactionUsersKept.
 */
export function summarize(rows: readonly Pick<ReactionDoc, 'emoji' | 'user' | 'at'>[]): ReactionSummary[] {
  const byEmoji = new Map<string, { users: { user: string; at: number }[]; first: number }>();
  for (const r of rows) {
    const at = r.at.getTime();
    let e = byEmoji.get(r.emoji);
    if (!e) byEmoji.set(r.emoji, (e = { users: [], first: at }));
    e.users.push({ user: r.user, at });
    if (at < e.first) e.first = at;
  }
  return [...byEmoji.entries()]
    .sort(([ea, a], [eb, b]) => b.users.length - a.users.length || a.first - b.first || (ea < eb ? -1 : 1))
    .map(([emoji, e]) => ({
      emoji,
      count: e.users.length,
      users: e.users
        .sort((a, b) => a.at - b.at || (a.user < b.user ? -1 : 1))
        .slice(0, LIMITS.reactionUsersKept)
        .map((u) => u.user),
    }));
}

/**
 * Reactions: one row per (message, emoji, person), the truth; the message's `reactions`
 * summary is recounted from the rows (never incremented), so it is exact whatever ran at the
 * same time, a retry or a crash included: the next recount repairs it. Each row carries the
 * event of its last change in its outbox (`message.reacted`, `message.unreacted`).
 */
export class ReactionRepository {
  constructor(private readonly db: StoreConnection) {}

  /**
   * Makes the reaction; false when it was there already (nothing written, no event). A
   * concurrent duplicate meets the primary key; a taken-back one is made active again.
   */
  async add(r: { message: string; room: string; emoji: string; user: string; at: Date }, event: DomainEvent): Promise<boolean> {
    const _id = reactionId(r.message, r.emoji, r.user);
    try {
      await this.db.models.Reaction.create({ _id, ...r, active: true, outbox: [event], outboxPending: true });
    } catch (e) {
      if (!asDuplicate(e)) throw e;
      const again = await this.db.locked('reactions', _id, () =>
        this.db.models.Reaction.findOneAndUpdate(
          { _id, active: false },
          { $set: { active: true, at: r.at, outboxPending: true }, $push: { outbox: event } },
          { returnDocument: 'after' },
        )
          .lean<ReactionDoc>()
          .exec(),
      );
      if (!again) return false;
    }
    this.db.eventsStored({ collection: 'reactions', docId: _id, events: [event] });
    return true;
  }

  /**
   * `add`, refusing an emoji that would be the message's `max + 1`-th distinct one (resolves
   * 'full' then, writing nothing). An emoji the message shows already skips the check; a new
   * one is checked against the rows under a per-message lock, so two new emoji racing for the
   * last place cannot both get it.
   */
  async addLimited(
    r: { message: string; room: string; emoji: string; user: string; at: Date },
    event: DomainEvent,
    opts: { max: number; shown: readonly string[] },
  ): Promise<boolean | 'full'> {
    if (opts.shown.includes(r.emoji)) return this.add(r, event);
    return this.db.serialized('reaction-emoji', r.message, async () => {
      const emoji = new Set((await this.of(r.message)).map((x) => x.emoji));
      if (!emoji.has(r.emoji) && emoji.size >= opts.max) return 'full' as const;
      return this.add(r, event);
    });
  }

  /** Takes the reaction back; false when there was none (nothing written, no event). */
  async remove(r: { message: string; emoji: string; user: string }, event: DomainEvent): Promise<boolean> {
    const _id = reactionId(r.message, r.emoji, r.user);
    const done = await this.db.locked('reactions', _id, () =>
      this.db.models.Reaction.findOneAndUpdate(
        { _id, active: true },
        { $set: { active: false, outboxPending: true }, $push: { outbox: event } },
        { returnDocument: 'after' },
      )
        .lean<ReactionDoc>()
        .exec(),
    );
    if (!done) return false;
    this.db.eventsStored({ collection: 'reactions', docId: _id, events: [event] });
    return true;
  }

  /** Whether this person's reaction with this emoji is there now (a point look-up). */
  async has(message: string, emoji: string, user: string): Promise<boolean> {
    const r = await this.db.models.Reaction.findById(reactionId(message, emoji, user)).select({ active: 1 }).lean<Pick<ReactionDoc, 'active'>>().exec();
    return r?.active === true;
  }

  /** The active reactions of a message (one equality query on `message`). */
  async of(message: string): Promise<Pick<ReactionDoc, 'emoji' | 'user' | 'at'>[]> {
    return this.db.models.Reaction.find({ message, active: true }).select({ emoji: 1, user: 1, at: 1 }).lean<ReactionDoc[]>().exec();
  }

  /**
   * Recounts the message's summary from its rows and stores it; resolves with the message
   * after it (null if there is no such message). Serialized per message on every backend (a
   * recount that read fewer rows can never be written after one that read more).
   */
  async recount(message: string): Promise<MessageDoc | null> {
    return this.db.serialized('messages', message, async () => {
      const reactions = summarize(await this.of(message));
      return this.db.models.Message.findOneAndUpdate({ _id: message }, { $set: { reactions } }, { returnDocument: 'after' })
        .lean<MessageDoc>()
        .exec();
    });
  }
}

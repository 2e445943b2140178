import { LIMITS, type DomainEvent } from '@conversa/contracts';
import type { MessageDoc, ReactionDoc, ReactionSummary } from './models.js';
import type { StoreConnection } from './connection.js';

/** A reaction's _id: one per (message, emoji, person), so a repeat meets the primary key. */
export const reactionId = (message: string, emoji: string, user: string): string => `${message}/${emoji}/${user}`;

/**
 * The summary a message shows, from its active reaction rows: one entry per emoji, most used
 * first (ties: the emoji used first), reactors earliest first, at most LIMITS.reactionUsersKept.
 * Each entry also keeps the times of its first and last reaction (ms, not shown), which is what
 * lets `withAdded` extend it without reading the rows.
 */
export function summarize(rows: readonly Pick<ReactionDoc, 'emoji' | 'user' | 'at'>[]): ReactionSummary[] {
  const byEmoji = new Map<string, { users: { user: string; at: number }[]; first: number; last: number }>();
  for (const r of rows) {
    const at = r.at.getTime();
    let e = byEmoji.get(r.emoji);
    if (!e) byEmoji.set(r.emoji, (e = { users: [], first: at, last: at }));
    e.users.push({ user: r.user, at });
    if (at < e.first) e.first = at;
    if (at > e.last) e.last = at;
  }
  return ordered(
    [...byEmoji.entries()].map(([emoji, e]) => ({
      emoji,
      count: e.users.length,
      users: e.users
        .sort((a, b) => a.at - b.at || (a.user < b.user ? -1 : 1))
        .slice(0, LIMITS.reactionUsersKept)
        .map((u) => u.user),
      first: e.first,
      last: e.last,
    })),
  );
}

const ordered = (entries: ReactionSummary[]): ReactionSummary[] =>
  entries.sort((a, b) => b.count - a.count || (a.first ?? 0) - (b.first ?? 0) || (a.emoji < b.emoji ? -1 : 1));

/** The newest reaction time a summary knows (0 when empty); undefined when an entry lacks it. */
export function lastReactionAt(summary: readonly ReactionSummary[]): number | undefined {
  let last = 0;
  for (const e of summary) {
    if (e.last === undefined || e.first === undefined) return undefined;
    last = Math.max(last, e.last);
  }
  return last;
}

/**
 * The summary after new reactions, each later than every reaction the summary counts (what
 * `ReactionRepository.apply` guarantees by its clock): exactly what `summarize` gives for the
 * rows with them (pure; tested against it). Undefined when the summary was stored without its
 * times (before they were kept): the caller recounts from the rows.
 */
export function withAdded(summary: readonly ReactionSummary[], added: readonly Pick<ReactionDoc, 'emoji' | 'user' | 'at'>[]): ReactionSummary[] | undefined {
  if (lastReactionAt(summary) === undefined) return undefined;
  const byEmoji = new Map(summary.map((e) => [e.emoji, { ...e, users: [...e.users] }]));
  for (const r of [...added].sort((a, b) => a.at.getTime() - b.at.getTime() || (a.user < b.user ? -1 : 1))) {
    const at = r.at.getTime();
    const e = byEmoji.get(r.emoji);
    if (!e) {
      byEmoji.set(r.emoji, { emoji: r.emoji, count: 1, users: [r.user], first: at, last: at });
      continue;
    }
    e.count++;
    if (e.users.length < LIMITS.reactionUsersKept) e.users.push(r.user);
    e.last = Math.max(e.last ?? at, at);
  }
  return ordered([...byEmoji.values()]);
}

/** One reaction change of a batch (`ReactionRepository.apply`). */
export type ReactionOp =
  | { kind: 'add'; emoji: string; user: string; room: string; event: DomainEvent }
  | { kind: 'remove'; emoji: string; user: string; event: DomainEvent };

/** What became of each op: done, already so (a repeat: nothing written, no event), or refused: the message has its maximum of distinct emoji. */
export type ReactionOutcome = 'changed' | 'unchanged' | 'full';

/**
 * Reactions: one row per (message, emoji, person), the truth; the message's `reactions`
 * summary follows from them. Every change of a message's rows and its summary is made by
 * `apply`, under the message's lock on every backend, in batches: one batch reads the message
 * and its rows, writes the rows and then the summary once, so a storm of a thousand reactions
 * costs a few batches, not a thousand recounts. Adds extend the summary (`withAdded`) without
 * reading the message's other rows; a removal, a repeat or a summary without its times
 * recounts it from the rows. A crash between a batch's rows and its summary leaves the summary
 * behind the rows until the next batch that recounts: the command's retry, which finds its row
 * there already (a repeat), is one. Each row carries the events of its changes in its outbox
 * (`message.reacted`, `message.unreacted`).
 */
export class ReactionRepository {
  constructor(private readonly db: StoreConnection) {}

  /**
   * Applies ops to one message's reactions, in order (the same person's add then remove in one
   * batch ends removed, with both events); `max` distinct emoji at most. Resolves with each op's
   * outcome and the message after the batch (null, and every op unchanged, if there is none).
   */
  async apply(message: string, ops: readonly ReactionOp[], opts: { max: number; now: () => Date }): Promise<{ outcomes: ReactionOutcome[]; message: MessageDoc | null }> {
    return this.db.serialized('messages', message, async () => {
      const [msg, existing] = await Promise.all([
        this.db.models.Message.findById(message).lean<MessageDoc>().exec(),
        this.db.byIds(
          ops.map((o) => reactionId(message, o.emoji, o.user)),
          (filter) => this.db.models.Reaction.find(filter).select({ active: 1 }).lean<Pick<ReactionDoc, '_id' | 'active'>[]>().exec(),
        ),
      ]);
      if (!msg) return { outcomes: ops.map(() => 'unchanged' as const), message: null };
      const summary = msg.reactions ?? [];
      // A clock per message: every new reaction later than all it counts, so `withAdded` holds.
      let clock = Math.max(opts.now().getTime(), (lastReactionAt(summary) ?? 0) + 1);
      const counts = new Map(summary.map((e) => [e.emoji, e.count]));
      interface Row { stored: boolean; active: boolean; emoji: string; user: string; room?: string; at?: Date; events: DomainEvent[] }
      const stored = new Map(existing.map((r) => [r._id, r.active]));
      const rows = new Map<string, Row>();
      let recount = false;
      const added: Pick<ReactionDoc, 'emoji' | 'user' | 'at'>[] = [];
      const outcomes = ops.map((op): ReactionOutcome => {
        const _id = reactionId(message, op.emoji, op.user);
        let row = rows.get(_id);
        if (!row) rows.set(_id, (row = { stored: stored.has(_id), active: stored.get(_id) === true, emoji: op.emoji, user: op.user, events: [] }));
        const want = op.kind === 'add';
        if (row.active === want) {
          // Already so in the store: a repeat, or the retry of a command that crashed after its
          // row was written, so the summary may be behind the rows.
          if (row.events.length === 0) recount = true;
          return 'unchanged';
        }
        if (want && !counts.get(op.emoji) && [...counts.values()].filter((c) => c > 0).length >= opts.max) return 'full';
        counts.set(op.emoji, (counts.get(op.emoji) ?? 0) + (want ? 1 : -1));
        row.active = want;
        row.events.push(op.event);
        if (op.kind === 'add') {
          row.at = new Date(clock++);
          row.room = op.room;
          added.push({ emoji: op.emoji, user: op.user, at: row.at });
        } else recount = true;
        return 'changed';
      });

      const written = [...rows.entries()].filter(([, r]) => r.events.length > 0);
      const fresh = written.filter(([, r]) => !r.stored);
      await Promise.all([
        fresh.length > 0
          ? this.db.models.Reaction.insertMany(
              fresh.map(([_id, r]) => ({ _id, message, room: r.room!, emoji: r.emoji, user: r.user, active: r.active, at: r.at!, outbox: r.events, outboxPending: true })),
              { ordered: false },
            )
          : undefined,
        ...written
          .filter(([, r]) => r.stored)
          .map(([_id, r]) =>
            this.db.models.Reaction.updateOne(
              { _id },
              { $set: { active: r.active, ...(r.at ? { at: r.at } : {}), outboxPending: true }, $push: { outbox: { $each: r.events } } },
            ).exec(),
          ),
      ]);
      for (const [_id, r] of written) this.db.eventsStored({ collection: 'reactions', docId: _id, events: r.events });

      const next = (!recount && withAdded(summary, added)) || summarize(await this.of(message));
      if (JSON.stringify(next) === JSON.stringify(summary)) return { outcomes, message: msg };
      const after = await this.db.models.Message.findOneAndUpdate({ _id: message }, { $set: { reactions: next } }, { returnDocument: 'after' })
        .lean<MessageDoc>()
        .exec();
      return { outcomes, message: after };
    });
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
}

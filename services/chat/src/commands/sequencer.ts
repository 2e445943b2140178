import type { MessageView, UserView } from '@conversa/contracts';
import { conflict } from '@conversa/contracts';
import { DuplicateKeyError, PartialInsertError, messageId, toMessageView, type KeyedMutex, type MessageDoc, type MessageRepository } from '@conversa/store';
import type { EventFactory } from '../domain.js';

/**
 * Serializes a room's message inserts across chat processes and carries the room's newest seq
 * from one holder to the next (null: not known). Correctness does not rest on it: the unique
 * (room, seq) index refuses a taken seq whatever happens to the lock; it saves lost races.
 */
export interface RoomSeqLocks {
  run<T>(room: string, task: (newest: number | null) => Promise<{ value: T; newest: number | null }>): Promise<T>;
}

/** Within this process only (tests, a single chat process). */
export const localSeqLocks: RoomSeqLocks = { run: async (_room, task) => (await task(null)).value };

/** A send waiting for its room's insert. */
export interface Draft {
  author: UserView;
  body: string;
  clientMsgId: string;
  /** What the write path worked out before the insert: the thread, the mentions. */
  extra?: DraftExtra;
}

/** Stored with the message: its thread root, the members it mentions, whether it mentions @room. */
export interface DraftExtra {
  parentId: string | null;
  mentions: string[];
  mentionsRoom: boolean;
}

/** What an insert gave: the stored message, or the one a retried send had stored already. */
export type Inserted = MessageDoc | { message: MessageView; duplicate: boolean };

interface QueuedInsert {
  draft: Draft;
  resolve: (r: Inserted) => void;
  reject: (e: unknown) => void;
}

/** Messages of one room inserted in one write at most. */
const MAX_INSERT_BATCH = 64;

/** How often one send retries after losing a race for the next seq to another process. */
const MAX_SEQ_ATTEMPTS = 50;

export interface MessageSequencerDeps {
  messages: MessageRepository;
  roomLocks: KeyedMutex;
  seqLocks: RoomSeqLocks;
  makeEvent: EventFactory;
  now: () => Date;
}

/** A retried send's stored message, if it went to the same room. */
export function duplicateOf(m: MessageDoc, author: UserView, room: string): { message: MessageView; duplicate: true } {
  if (m.room !== room) throw conflict('clientMsgId: already used for a message to another room');
  return { message: toMessageView(m, author), duplicate: true };
}

/**
 * Dense per-room seqs with group commit. A room's inserts run one at a time: in this process
 * (roomLocks), then across chat processes (seqLocks, which also hand over the room's newest
 * seq, so that an insert is right the first time instead of losing a race and searching for
 * the newest). The sends that queue for a room while its insert runs go in together next: one
 * write of their marks and one of their messages (MessageRepository.insertBatch) instead of two
 * per message. No send waits for a batch to fill: the first goes alone, the queue forms only
 * under load.
 */
export class MessageSequencer {
  /** Per room: sends waiting to be inserted together. */
  private readonly queues = new Map<string, QueuedInsert[]>();
  /** Last seq this process wrote per room; a hint only, the unique index decides. */
  private readonly lastSeq = new Map<string, number>();

  constructor(private readonly deps: MessageSequencerDeps) {}

  insert(room: string, draft: Draft): Promise<Inserted> {
    return new Promise<Inserted>((resolve, reject) => {
      let queue = this.queues.get(room);
      const idle = !queue;
      if (!queue) this.queues.set(room, (queue = []));
      queue.push({ draft, resolve, reject });
      if (idle) void this.drain(room, queue);
    });
  }

  private async drain(room: string, queue: QueuedInsert[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_INSERT_BATCH);
      try {
        const results = await this.deps.roomLocks.run(room, () =>
          this.deps.seqLocks.run(room, async (newest) => {
            if (newest !== null && newest > (this.lastSeq.get(room) ?? 0)) this.lastSeq.set(room, newest);
            const value = await this.insertBatch(room, batch.map((b) => b.draft));
            return { value, newest: this.lastSeq.get(room) ?? null };
          }),
        );
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (e) {
        batch.forEach((b) => b.reject(e));
      }
    }
    this.queues.delete(room);
  }

  /** Consecutive seqs for the drafts in one go; after a refusal, the rest one by one (insertNext). */
  private async insertBatch(room: string, drafts: Draft[]): Promise<Inserted[]> {
    if (drafts.length === 1) {
      const d = drafts[0]!;
      return [await this.insertNext(room, d)];
    }
    const seq = this.lastSeq.get(room) ?? (await this.deps.messages.lastSeq(room));
    const createdAt = this.deps.now();
    const docs = drafts.map((d, i) => {
      const doc = { _id: messageId(room, seq + 1 + i), room, seq: seq + 1 + i, authorId: d.author.id, body: d.body, status: 'VISIBLE' as const, clientMsgId: d.clientMsgId, createdAt, editedAt: null, ...d.extra };
      return { ...doc, outbox: [], posted: this.deps.makeEvent('message.posted', room, d.author.id, { message: toMessageView(doc, d.author) }) };
    });
    try {
      const stored = await this.deps.messages.insertBatch(docs);
      this.lastSeq.set(room, seq + docs.length);
      return stored;
    } catch (e) {
      if (!(e instanceof PartialInsertError)) throw e;
      if (e.inserted > 0) this.lastSeq.set(room, seq + e.inserted);
      const out: Inserted[] = docs.slice(0, e.inserted).map((d) => ({ ...d, outboxPending: false }));
      for (const d of drafts.slice(e.inserted)) out.push(await this.insertNext(room, d));
      return out;
    }
  }

  /** Insert with seq = last + 1 under the unique (room, seq) index; on a lost race, read and retry. */
  private async insertNext(room: string, draft: Draft): Promise<Inserted> {
    const { author, body, clientMsgId } = draft;
    let seq = this.lastSeq.get(room) ?? (await this.deps.messages.lastSeq(room));
    for (let attempt = 0; attempt < MAX_SEQ_ATTEMPTS; attempt++) {
      const createdAt = this.deps.now();
      const next = seq + 1;
      // The id is (room, seq): a seq exists only with its message, and both are found by _id.
      const id = messageId(room, next);
      const doc = { _id: id, room, seq: next, authorId: author.id, body, status: 'VISIBLE' as const, clientMsgId, createdAt, editedAt: null, ...draft.extra };
      try {
        const stored = await this.deps.messages.insert({
          ...doc,
          outbox: [],
          posted: this.deps.makeEvent('message.posted', room, author.id, { message: toMessageView(doc, author) }),
        });
        this.lastSeq.set(room, next);
        return stored;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e;
        // FerretDB does not say which index refused the insert, so ask the data.
        const taken = await this.deps.messages.findById(id);
        if (taken) {
          if (taken.authorId === author.id && taken.clientMsgId === clientMsgId) return duplicateOf(taken, author, room);
          // Another process took this seq: find the newest and go again.
          seq = await this.deps.messages.lastSeq(room, next);
          this.lastSeq.set(room, seq);
          continue;
        }
        // The seq is free, so the unique (author, clientMsgId) index refused it: a retry.
        const dup = await this.deps.messages.findByClientId(author.id, clientMsgId);
        if (dup) return duplicateOf(dup, author, room);
      }
    }
    throw new Error(`room ${room}: no free seq after ${MAX_SEQ_ATTEMPTS} attempts`);
  }
}

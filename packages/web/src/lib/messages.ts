/** The message shapes the web client reads from the API (a subset of the schema's fields). */
export type MessageStatus = 'VISIBLE' | 'HIDDEN' | 'DELETED';

export interface Person {
  id: string;
  username: string;
  displayName: string;
}

export interface ChatMessage {
  id: string;
  room: string;
  seq: number;
  body: string;
  status: MessageStatus;
  clientMsgId: string;
  createdAt: string;
  editedAt: string | null;
  author: Person;
  /**
   * Threads, reactions and mentions: what a room's log selects (search hits do not). A reply
   * carries its root's id in `parentId`; a root counts its VISIBLE replies.
   */
  parentId?: string | null;
  replyCount?: number;
  lastReplyAt?: string | null;
  /** Most used first; `reactedByMe` is the reader's own (the server renders it per person). */
  reactions?: Reaction[];
  mentions?: Pick<Person, 'id' | 'username'>[];
  mentionsRoom?: boolean;
  /** Pinned in its room (`pinMessage`); a log's selection has it, search hits do not. */
  pinned?: boolean;
}

/** One emoji's reactions to a message, as the reader sees them. */
export interface Reaction {
  emoji: string;
  count: number;
  reactedByMe: boolean;
  /** The first few who reacted, earliest first. */
  users: Pick<Person, 'id' | 'displayName'>[];
}

/** A message typed here that the server has not acknowledged yet. */
export interface PendingMessage {
  clientMsgId: string;
  body: string;
  createdAt: string;
  /**
   * `failed` carries the reason it was not sent; it is retried on reconnect or by hand.
   * `sending` may carry why it waits (a rate limit: it goes out by itself after the wait).
   */
  state: 'sending' | 'failed';
  error?: string;
}

/** What one merge changed, for the view to render: new messages and replaced ones, ascending by seq. */
export interface LogChange {
  added: ChatMessage[];
  updated: ChatMessage[];
}

/**
 * The messages of one room, keyed by their dense per-room `seq`. Pages, the live stream and
 * mutation results all merge here, so a message is shown once whichever way it arrived.
 *
 * `streamSeq` is the highest seq received from an ordered source (the newest page or the
 * `messageAdded` stream): every message up to it has been seen, so the stream resumes from it
 * after a reconnect. A message known only from a mutation result does not move it: an older
 * message may still be on its way.
 */
export class MessageLog {
  readonly #bySeq = new Map<number, ChatMessage>();
  readonly #pending = new Map<string, PendingMessage>();
  #sorted: ChatMessage[] | null = [];
  #streamSeq = 0;
  /** False once the oldest message of the room has been loaded. */
  hasOlder = true;

  /** The highest seq every earlier message is known up to; `messageAdded(after:)` resumes here. */
  get streamSeq(): number {
    return this.#streamSeq;
  }

  /** The lowest seq loaded (for `messages(before:)`), undefined when empty. */
  get firstSeq(): number | undefined {
    return this.list()[0]?.seq;
  }

  get lastSeq(): number {
    return this.list().at(-1)?.seq ?? 0;
  }

  get size(): number {
    return this.#bySeq.size;
  }

  get(seq: number): ChatMessage | undefined {
    return this.#bySeq.get(seq);
  }

  findById(id: string): ChatMessage | undefined {
    for (const m of this.#bySeq.values()) if (m.id === id) return m;
    return undefined;
  }

  /** All messages, ascending by seq. */
  list(): ChatMessage[] {
    this.#sorted ??= [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.#sorted;
  }

  /**
   * Adds messages not seen yet (by seq); a seq already present is ignored, so replays and
   * doubles vanish. `ordered` marks a source that delivers every seq in order (a page, the stream).
   */
  add(messages: readonly ChatMessage[], opts: { ordered: boolean }): LogChange {
    const added: ChatMessage[] = [];
    for (const m of messages) {
      if (opts.ordered && m.seq > this.#streamSeq) this.#streamSeq = m.seq;
      this.#pending.delete(m.clientMsgId);
      if (this.#bySeq.has(m.seq)) continue;
      this.#bySeq.set(m.seq, m);
      added.push(m);
    }
    if (added.length) this.#sorted = null;
    return { added: added.sort((a, b) => a.seq - b.seq), updated: [] };
  }

  /**
   * Applies the current state of messages (an edit, a deletion, a refreshed page): replaces the
   * stored copy when something a person sees differs. Unknown messages are left to `add`.
   */
  update(messages: readonly ChatMessage[]): LogChange {
    const updated: ChatMessage[] = [];
    for (const m of messages) {
      const old = this.#bySeq.get(m.seq);
      if (!old || old.id !== m.id) continue;
      if (sameShown(old, m)) continue;
      this.#bySeq.set(m.seq, m);
      updated.push(m);
    }
    if (updated.length) this.#sorted = null;
    return { added: [], updated: updated.sort((a, b) => a.seq - b.seq) };
  }

  addPending(p: PendingMessage): void {
    this.#pending.set(p.clientMsgId, p);
  }

  setPending(clientMsgId: string, state: PendingMessage['state'], error?: string): void {
    const p = this.#pending.get(clientMsgId);
    if (!p) return;
    const next: PendingMessage = {
      clientMsgId: p.clientMsgId,
      body: p.body,
      createdAt: p.createdAt,
      state,
    };
    if (error !== undefined) next.error = error;
    this.#pending.set(clientMsgId, next);
  }

  removePending(clientMsgId: string): void {
    this.#pending.delete(clientMsgId);
  }

  getPending(clientMsgId: string): PendingMessage | undefined {
    return this.#pending.get(clientMsgId);
  }

  /** Messages still to be acknowledged, in the order they were typed. */
  pending(): PendingMessage[] {
    return [...this.#pending.values()];
  }

  /** True when a message with this clientMsgId is stored (the send went through). */
  hasClientMsgId(clientMsgId: string): boolean {
    for (const m of this.#bySeq.values()) if (m.clientMsgId === clientMsgId) return true;
    return false;
  }
}

/** True when two copies of a message look the same to the reader (nothing to re-render). */
function sameShown(a: ChatMessage, b: ChatMessage): boolean {
  return (
    a.body === b.body &&
    a.status === b.status &&
    a.editedAt === b.editedAt &&
    a.author.displayName === b.author.displayName &&
    (a.replyCount ?? 0) === (b.replyCount ?? 0) &&
    (a.lastReplyAt ?? null) === (b.lastReplyAt ?? null) &&
    (a.mentionsRoom ?? false) === (b.mentionsRoom ?? false) &&
    (a.pinned ?? false) === (b.pinned ?? false) &&
    JSON.stringify(a.mentions ?? []) === JSON.stringify(b.mentions ?? []) &&
    JSON.stringify(a.reactions ?? []) === JSON.stringify(b.reactions ?? [])
  );
}

/** The text a message shows: its body, or a placeholder for hidden and deleted ones. */
export function displayBody(m: Pick<ChatMessage, 'status' | 'body'>): {
  text: string;
  placeholder: boolean;
} {
  switch (m.status) {
    case 'VISIBLE':
      return { text: m.body, placeholder: false };
    case 'DELETED':
      return { text: 'message deleted', placeholder: true };
    case 'HIDDEN':
      return { text: 'message hidden by a moderator', placeholder: true };
  }
}

/**
 * What the index keeps of a message, and how changes to it combine (pure). Every message event
 * carries the message as it was when the event happened (`MessageView`) and when it happened;
 * the index keeps, per message, the newest status and the newest readable body it has heard of:
 *
 * - the status of the newest event (by time) wins, except that DELETED is final: once deleted,
 *   no redelivered older event brings the message back;
 * - the body of the newest event that shows it (VISIBLE: a hidden message's view has its body
 *   emptied, and the index keeps the earlier body so admins still find it); a delete empties it.
 *
 * `merge` is idempotent and commutative in everything a search reads (status, body), so redelivered and reordered events leave the same
 * state whatever order they arrive in. The SQL upsert of the PostgreSQL adapter applies the same
 * rule row by row (see postgres.ts).
 */

export type IndexedStatus = 'VISIBLE' | 'HIDDEN' | 'DELETED';

/** One message as an event (or the store) saw it at `at`. */
export interface MessageChange {
  id: string;
  room: string;
  seq: number;
  authorId: string;
  createdAt: Date;
  status: IndexedStatus;
  /** The body; only taken when status is VISIBLE (or `bodyKnown`), '' otherwise. */
  body: string;
  /**
   * The body is the real one even though the status is not VISIBLE (a rebuild from the store,
   * which keeps what moderators hid).
   */
  bodyKnown?: boolean;
  at: Date;
}

export interface MessageState {
  id: string;
  room: string;
  seq: number;
  authorId: string;
  createdAt: Date;
  status: IndexedStatus;
  statusAt: Date;
  /** Null until an event that shows the body arrived. */
  body: string | null;
  bodyAt: Date | null;
}

export function stateOf(c: MessageChange): MessageState {
  const deleted = c.status === 'DELETED';
  const showsBody = deleted || c.status === 'VISIBLE' || c.bodyKnown === true;
  return {
    id: c.id,
    room: c.room,
    seq: c.seq,
    authorId: c.authorId,
    createdAt: c.createdAt,
    status: c.status,
    statusAt: c.at,
    body: showsBody ? (deleted ? '' : c.body) : null,
    bodyAt: showsBody ? c.at : null,
  };
}

/** Two states of one message combined (commutative, idempotent). */
export function merge(a: MessageState, b: MessageState): MessageState {
  // Final: the delete that came first stays (two deletes differ only in their time), body empty.
  if (a.status === 'DELETED') return { ...a, body: '' };
  if (b.status === 'DELETED') return { ...b, body: '' };
  const status = b.statusAt > a.statusAt || (+b.statusAt === +a.statusAt && b.status > a.status) ? b : a;
  const withBody = [a, b].filter((s) => s.body !== null && s.bodyAt !== null);
  const body = withBody.sort((x, y) => y.bodyAt!.getTime() - x.bodyAt!.getTime() || (y.body! < x.body! ? -1 : 1))[0];
  return { ...a, status: status.status, statusAt: status.statusAt, body: body?.body ?? null, bodyAt: body?.bodyAt ?? null };
}

/** One state per message out of a batch of changes (any order). */
export function fold(changes: readonly MessageChange[]): MessageState[] {
  const out = new Map<string, MessageState>();
  for (const c of changes) {
    const s = stateOf(c);
    const prev = out.get(c.id);
    out.set(c.id, prev ? merge(prev, s) : s);
  }
  return [...out.values()];
}

import { badInput, type MessageView, type RoomView, type UserView } from '@conversa/contracts';
import { GHOST_USER, roomCounts, toMessageView, toRoomView, toUserView, type LastMessage, type RoomCounts, type RoomDoc, type Store } from '@conversa/store';

export type ReadStateReads = Pick<Store, 'rooms' | 'readState' | 'users'>;

/** One room as one person's room list shows it: their counts and the room's last message. */
export interface RoomState extends RoomCounts {
  /** Stored (an author id to resolve), or as a live stream carried it (author included). */
  last: LastMessage | MessageView | null;
  /** When the room last had a message (its creation when it never had one): room lists sort by it. */
  activeAt: Date;
}

/** A room view with the caller's state already known (inbox pages): field resolvers use it as is. */
export type RoomWithState = RoomView & { readonly state?: RoomState };

/**
 * Above this many rooms a person's read positions are read at once (one query on `user`)
 * instead of by point look-ups.
 */
const POSITIONS_AT_ONCE = 8;

/**
 * The caller's state in each of `rooms`, in a bounded number of trips whatever their number:
 * the rooms' activity (one `$in` on MongoDB), the caller's read positions and unread mentions
 * (one query each on `user`). Nothing here is shared between people.
 */
export async function roomStates(store: ReadStateReads, user: string, rooms: readonly Pick<RoomDoc, '_id' | 'createdAt'>[]): Promise<RoomState[]> {
  const ids = rooms.map((r) => r._id);
  const [activities, positions, mentions] = await Promise.all([
    store.readState.activities(ids),
    ids.length > POSITIONS_AT_ONCE
      ? store.readState.positionsOf(user)
      : Promise.all(ids.map((id) => store.readState.position(id, user))).then((p) => p.flatMap((x) => (x ? [x] : []))),
    store.readState.mentionsOf(user),
  ]);
  const activityOf = new Map(activities.map((a) => [a._id, a]));
  const readOf = new Map(positions.map((p) => [p.room, p.lastReadSeq]));
  const mentionsByRoom = new Map<string, number[]>();
  for (const m of mentions) {
    const list = mentionsByRoom.get(m.room);
    if (list) list.push(m.seq);
    else mentionsByRoom.set(m.room, [m.seq]);
  }
  return rooms.map((r) => {
    const a = activityOf.get(r._id) ?? null;
    return {
      ...roomCounts(a, readOf.get(r._id) ?? 0, mentionsByRoom.get(r._id) ?? []),
      last: a?.last ?? null,
      activeAt: a?.lastAt ?? r.createdAt,
    };
  });
}

export interface InboxPage {
  rooms: RoomWithState[];
  nextCursor: string | null;
  unreadTotal: number;
  mentionsTotal: number;
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    const t = new Date(String(at)).getTime();
    if (typeof id !== 'string' || Number.isNaN(t)) throw new Error('shape');
    return { at: t, id };
  } catch {
    throw badInput('after: not a cursor this API returned');
  }
}

/**
 * A person's rooms (public rooms joined, direct and group rooms), most recent activity first,
 * with their counts; the totals cover every room, not only the page. Trips: the person's
 * memberships and direct rooms, `roomStates` (the rooms' activity: one `$in` on MongoDB, one
 * cache read on FerretDB), then the page's rooms — the same few whatever the number of rooms.
 */
export async function inboxPage(store: ReadStateReads, user: string, opts: { after?: string | undefined; limit: number }): Promise<InboxPage> {
  const after = opts.after ? decodeCursor(opts.after) : undefined;
  const [memberships, direct] = await Promise.all([store.rooms.membershipsOf(user), store.rooms.listDirect(user)]);
  const directIds = new Set(direct.map((d) => d._id));
  // A room without messages sorts by when the person joined it (a direct room: its creation).
  const rooms: Pick<RoomDoc, '_id' | 'createdAt'>[] = [
    ...memberships.filter((m) => !directIds.has(m.room)).map((m) => ({ _id: m.room, createdAt: m.joinedAt })),
    ...direct,
  ];
  const states = await roomStates(store, user, rooms);
  const rows = rooms.map((room, i) => ({ id: room._id, state: states[i]! }));
  rows.sort((a, b) => b.state.activeAt.getTime() - a.state.activeAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let unreadTotal = 0;
  let mentionsTotal = 0;
  for (const r of rows) {
    unreadTotal += r.state.unread;
    mentionsTotal += r.state.mentions;
  }
  const start = after
    ? rows.findIndex((r) => {
        const t = r.state.activeAt.getTime();
        return t < after.at || (t === after.at && r.id > after.id);
      })
    : 0;
  const page = start < 0 ? [] : rows.slice(start, start + opts.limit);
  // Only the page's rooms are read in full: the same number of reads whatever the room count.
  const directOf = new Map(direct.map((d) => [d._id, d]));
  const docs = new Map((await store.rooms.findByIds(page.filter((r) => !directOf.has(r.id)).map((r) => r.id))).map((d) => [d._id, d]));
  // The page's last messages with their authors, in one read (not one per room).
  const stored = page.flatMap((r) => (r.state.last && !('author' in r.state.last) ? [r.state.last] : []));
  const authors = new Map((await store.users.findByIds([...new Set(stored.map((m) => m.authorId))])).map((u) => [u._id, toUserView(u)]));
  const withAuthor = (s: RoomState): RoomState =>
    s.last && !('author' in s.last) ? { ...s, last: toMessageView(s.last, authors.get(s.last.authorId) ?? { ...GHOST_USER, id: s.last.authorId }) } : s;
  const last = page.at(-1);
  const more = start >= 0 && start + opts.limit < rows.length;
  return {
    rooms: page.flatMap((r) => {
      const doc = directOf.get(r.id) ?? docs.get(r.id);
      return doc ? [{ ...toRoomView(doc), state: withAuthor(r.state) }] : [];
    }),
    nextCursor: more && last ? encodeCursor(last.state.activeAt, last.id) : null,
    unreadTotal,
    mentionsTotal,
  };
}

/** How many receipts `Room.readBy` lists (the newest positions): enough for "seen by" in a room list. */
export const READ_BY_MAX = 100;

/**
 * The other members' read positions in a room, newest first, without private ones and without
 * people who are no longer members: one query on `room`, the members, the users.
 */
export async function readReceipts(store: ReadStateReads, room: string, viewer: string): Promise<{ user: UserView; lastReadSeq: number; at: Date }[]> {
  const [positions, doc] = await Promise.all([store.readState.positionsIn(room), store.rooms.findById(room)]);
  const others = positions.filter((p) => p.user !== viewer && p.lastReadSeq > 0);
  if (others.length === 0 || !doc) return [];
  const members = new Set(doc.kind === 'DIRECT' ? doc.pair : await store.rooms.memberIds(room));
  const candidates = others.filter((p) => members.has(p.user));
  const users = new Map((await store.users.findByIds(candidates.map((p) => p.user))).map((u) => [u._id, u]));
  return candidates
    .flatMap((p) => {
      const u = users.get(p.user);
      return u && u.receiptsPrivate !== true ? [{ user: toUserView(u), lastReadSeq: p.lastReadSeq, at: p.at }] : [];
    })
    .sort((a, b) => b.lastReadSeq - a.lastReadSeq || b.at.getTime() - a.at.getTime())
    .slice(0, READ_BY_MAX);
}

/**
 * The product layer's invariants after a fault, independent of the services' code: read with
 * the plain MongoDB driver and PostgreSQL client, compared with what the clients were told.
 * - every acknowledged reaction has its row, and every message's summary counts its active rows
 *   exactly (each reaction once);
 * - every thread root's reply count equals its VISIBLE replies;
 * - read positions never moved back (each person's markRead answers only rise, and the stored
 *   position is at least the last answer), and the unread count the API gives each person
 *   equals what the stored messages and that person's stored position give;
 * - every acknowledged deletion is stored;
 * - the search index holds every stored VISIBLE message of the rooms once, and nothing else
 *   (a deleted message is not findable).
 */
import { MongoClient } from 'mongodb';
import pg from 'pg';

export interface ReactionAck {
  message: string;
  emoji: string;
  user: string;
}

/** What one person was told of their read position in one room, in order. */
export interface ReadAnswers {
  user: string;
  room: string;
  answers: number[];
}

/** What the API says of one person's room (read after the system settled). */
export interface RoomAsSeen {
  user: string;
  room: string;
  unread: number;
  lastReadSeq: number;
}

export interface ProductVerdict {
  reactions: number;
  /** Acknowledged deletions (each checked stored, and not findable). */
  deleted: number;
  threads: number;
  readPositions: number;
  indexed: number;
  problems: string[];
}

interface StoredMessage {
  _id: string;
  room: string;
  seq: number;
  authorId: string;
  status: string;
  parentId?: string | null;
  replyCount?: number;
  reactions?: { emoji: string; count: number }[];
}

export async function checkProduct(o: {
  mongoUrl: string;
  db: string;
  /** The search index's database and schema (the namespace). */
  searchPgUrl: string;
  searchSchema: string;
  rooms: string[];
  reactions: readonly ReactionAck[];
  /** Messages whose deletion was acknowledged. */
  deleted: readonly string[];
  reads: readonly ReadAnswers[];
  seen: readonly RoomAsSeen[];
}): Promise<ProductVerdict> {
  const problems: string[] = [];
  const client = await MongoClient.connect(o.mongoUrl);
  let messages: StoredMessage[];
  try {
    const d = client.db(o.db);
    messages = await d
      .collection<StoredMessage>('messages')
      .find({ room: { $in: o.rooms } }, { projection: { room: 1, seq: 1, authorId: 1, status: 1, parentId: 1, replyCount: 1, reactions: 1 } })
      .toArray();
    const ids = messages.map((m) => m._id);
    const status = new Map(messages.map((m) => [m._id, m.status]));
    const undeleted = o.deleted.filter((id) => status.get(id) !== 'DELETED');
    for (const id of undeleted.slice(0, 5)) problems.push(`acknowledged deletion of ${id}: it is ${status.get(id) ?? 'not stored'}`);

    // Reactions: rows are the truth, the summary must count them; every acknowledged one is there.
    const rows = await d
      .collection<{ _id: string; message: string; emoji: string; user: string; active: boolean }>('reactions')
      .find({ message: { $in: ids } })
      .toArray();
    const active = new Map<string, number>();
    for (const r of rows) if (r.active) active.set(`${r.message}\u0000${r.emoji}`, (active.get(`${r.message}\u0000${r.emoji}`) ?? 0) + 1);
    const rowIds = new Set(rows.filter((r) => r.active).map((r) => `${r.message}/${r.emoji}/${r.user}`));
    const missing = o.reactions.filter((a) => !rowIds.has(`${a.message}/${a.emoji}/${a.user}`));
    for (const a of missing.slice(0, 5)) problems.push(`acknowledged reaction ${a.emoji} of ${a.user} to ${a.message} has no active row`);
    if (missing.length > 5) problems.push(`… ${missing.length} acknowledged reactions without a row in all`);
    for (const m of messages) {
      const shown = new Map((m.reactions ?? []).map((r) => [r.emoji, r.count]));
      const counted = new Map([...active].filter(([k]) => k.startsWith(`${m._id}\u0000`)).map(([k, n]) => [k.slice(m._id.length + 1), n]));
      const emoji = new Set([...shown.keys(), ...counted.keys()]);
      for (const e of emoji)
        if ((shown.get(e) ?? 0) !== (counted.get(e) ?? 0)) problems.push(`${m._id}: ${e} shows ${shown.get(e) ?? 0}, the rows count ${counted.get(e) ?? 0}`);
    }

    // Threads: each root counts its VISIBLE replies.
    const replies = new Map<string, number>();
    for (const m of messages) if (m.parentId && m.status === 'VISIBLE') replies.set(m.parentId, (replies.get(m.parentId) ?? 0) + 1);
    let threads = 0;
    for (const m of messages) {
      const want = replies.get(m._id) ?? 0;
      if (want === 0 && !m.replyCount) continue;
      threads++;
      if ((m.replyCount ?? 0) !== want) problems.push(`${m._id}: replyCount ${m.replyCount ?? 0}, ${want} VISIBLE replies stored`);
    }

    // Read positions: answers only rise; the stored position is at least the last answer; the
    // API's unread count is what the stored messages and position give.
    const states = await d
      .collection<{ room: string; user: string; lastReadSeq: number }>('read_states')
      .find({ room: { $in: o.rooms } })
      .toArray();
    const stored = new Map(states.map((s) => [`${s.user}\u0000${s.room}`, s.lastReadSeq]));
    for (const r of o.reads) {
      const back = r.answers.findIndex((a, i) => i > 0 && a < r.answers[i - 1]!);
      if (back >= 0) problems.push(`${r.user} in ${r.room}: read position moved back from ${r.answers[back - 1]} to ${r.answers[back]}`);
      const last = Math.max(0, ...r.answers);
      const now = stored.get(`${r.user}\u0000${r.room}`) ?? 0;
      if (now < last) problems.push(`${r.user} in ${r.room}: stored read position ${now} is below the answered ${last}`);
    }
    for (const s of o.seen) {
      const position = stored.get(`${s.user}\u0000${s.room}`) ?? 0;
      if (s.lastReadSeq !== position) problems.push(`${s.user} in ${s.room}: the API says lastReadSeq ${s.lastReadSeq}, the store ${position}`);
      const unread = messages.filter((m) => m.room === s.room && m.seq > position && m.status === 'VISIBLE' && m.authorId !== s.user).length;
      if (s.unread !== unread) problems.push(`${s.user} in ${s.room}: the API says ${s.unread} unread, the stored messages give ${unread}`);
    }

    // The search index: every stored VISIBLE message once (the id is its key), nothing else.
    const index = new pg.Client({ connectionString: o.searchPgUrl });
    await index.connect();
    let indexed = 0;
    try {
      const r = await index.query<{ id: string; status: string }>(`SELECT id, status FROM "${o.searchSchema.replace(/"/g, '""')}".messages WHERE room = ANY($1)`, [o.rooms]);
      const inIndex = new Map(r.rows.map((x) => [x.id, x.status]));
      indexed = r.rows.length;
      const visible = messages.filter((m) => m.status === 'VISIBLE');
      const notIndexed = visible.filter((m) => inIndex.get(m._id) !== 'VISIBLE');
      for (const m of notIndexed.slice(0, 5)) problems.push(`${m._id} is VISIBLE but the search index has it as ${inIndex.get(m._id) ?? 'nothing'}`);
      if (notIndexed.length > 5) problems.push(`… ${notIndexed.length} VISIBLE messages not findable in all`);
      const known = new Set(messages.map((m) => m._id));
      const strangers = r.rows.filter((x) => !known.has(x.id));
      if (strangers.length > 0) problems.push(`the search index has ${strangers.length} messages the store does not (${strangers.slice(0, 3).map((x) => x.id).join(', ')})`);
      const hidden = messages.filter((m) => m.status !== 'VISIBLE' && inIndex.get(m._id) === 'VISIBLE');
      if (hidden.length > 0) problems.push(`the search index finds ${hidden.length} messages that are not VISIBLE`);
    } finally {
      await index.end();
    }
    return { reactions: rows.filter((x) => x.active).length, deleted: o.deleted.length, threads, readPositions: states.length, indexed, problems };
  } finally {
    await client.close();
  }
}

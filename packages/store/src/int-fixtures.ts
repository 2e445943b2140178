/**
 * Shared set-up of the store's integration tests: a database of its own per test (dropped
 * afterwards) and documents as the chat worker writes them.
 */
import { randomUUID } from 'node:crypto';
import { newEvent, type MessageView } from '@conversa/contracts';
import type { MessageDoc } from './models.js';
import { messageId } from './messages.js';
import { openStore, type Store } from './store.js';

export const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';

/** A store on a fresh database (`it_<uuid8>`) with its indexes. */
export async function isolatedStore(): Promise<Store> {
  const store = await openStore({ url: MONGO_URL, dbName: `it_${randomUUID().slice(0, 8)}` });
  await store.ensureIndexes();
  return store;
}

export async function dropStore(store: Store): Promise<void> {
  await store.dropDatabase();
  await store.close();
}

export const author = (id: string) => ({
  id,
  username: id,
  displayName: id.toUpperCase(),
  role: 'USER' as const,
});

export function messageDoc(
  room: string,
  seq: number,
  over: Partial<MessageDoc> = {},
): Omit<MessageDoc, 'outboxPending'> {
  const authorId = over.authorId ?? 'u1';
  const clientMsgId = over.clientMsgId ?? `${room}-c${seq}`;
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, seq));
  const id = over._id ?? randomUUID();
  const view: MessageView = {
    id,
    room,
    seq,
    author: author(authorId),
    body: `m${seq}`,
    status: 'VISIBLE',
    clientMsgId,
    createdAt: createdAt.toISOString(),
    editedAt: null,
    pinned: false,
  };
  return {
    _id: id,
    room,
    seq,
    authorId,
    body: `m${seq}`,
    status: 'VISIBLE',
    clientMsgId,
    createdAt,
    editedAt: null,
    outbox: [newEvent('message.posted', room, authorId, { message: view }, createdAt)],
    ...over,
  };
}

export const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);

/** A message.posted draft of `authorId` for (room, seq), as the chat worker writes it. */
export function draft(room: string, seq: number, authorId: string, clientMsgId: string) {
  const author = {
    id: authorId,
    username: authorId,
    displayName: authorId,
    role: 'USER' as const,
  };
  const createdAt = new Date();
  const message = {
    id: messageId(room, seq),
    room,
    seq,
    author,
    body: 'hi',
    status: 'VISIBLE' as const,
    clientMsgId,
    createdAt: createdAt.toISOString(),
    editedAt: null,
    pinned: false,
  };
  return {
    room,
    seq,
    authorId,
    body: 'hi',
    status: 'VISIBLE' as const,
    clientMsgId,
    createdAt,
    editedAt: null,
    outbox: [],
    posted: newEvent('message.posted', room, authorId, { message }),
  };
}

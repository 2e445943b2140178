import { AppError, ErrorCode, badInput, forbidden, mentionsIn, notFound, type MessageView } from '@conversa/contracts';
import { toMessageView, toUserView, type RoomDoc } from '@conversa/store';
import { normalizeBody } from '../domain.js';
import { assertCanSend, assertNotMuted } from '../rules.js';
import type { CommandContext, CommandHandler } from './context.js';
import { duplicateOf, type DraftExtra } from './sequencer.js';

export const send: CommandHandler<'message.send'> = async (c, ctx) => {
  const body = normalizeBody(c.body);
  // The four reads run at once (usually cache hits, see read-cache.ts).
  const [user, room, member, mutes] = await Promise.all([
    ctx.reads.user(c.actor),
    ctx.reads.room(c.room),
    ctx.reads.isMember(c.room, c.actor),
    ctx.reads.mutes(c.actor, c.room),
  ]);
  if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
  const author = toUserView(user);
  if (!room) throw notFound(`room: no room "${c.room}"`);
  assertCanSend(room, author.id, room.kind !== 'DIRECT' && member);
  // No clientMsgId look-up up front: on FerretDB it scans the whole collection, and the
  // unique (author, clientMsgId) index already turns a retry into its stored message in the
  // sequencer. Only a refused (muted) send looks, so that a send accepted before the mute
  // still answers the same on retry. So for a block (a direct room's peer who blocks the
  // author: refused without saying why, see commands/blocks.ts).
  try {
    assertNotMuted(mutes, ctx.now());
    if (room.kind === 'DIRECT') {
      const peer = room.pair.find((id) => id !== author.id);
      if (peer !== undefined && (await ctx.blocks.blocks(peer, author.id))) throw forbidden('room: not allowed');
    }
  } catch (e) {
    const existing = await ctx.messages.findByClientId(author.id, c.clientMsgId);
    if (existing) return duplicateOf(existing, author, c.room);
    throw e;
  }
  const extra = await draftExtra(ctx, room, author.id, body, c.parentId);
  const stored = await ctx.sequencer.insert(room._id, { author, body, clientMsgId: c.clientMsgId, extra });
  if ('duplicate' in stored) {
    // A retry of a send that may have stopped between its insert and its read state or its
    // thread's recount: both are idempotent, so they are made sure of again.
    await afterPosted(ctx, room, stored.message, true);
    if (stored.message.parentId) await recountRoot(ctx, stored.message.parentId);
    return stored;
  }
  const view = toMessageView(stored, author);
  await afterPosted(ctx, room, view, false);
  await ctx.publish(room._id, { kind: 'message.added', message: view });
  if (view.parentId) await recountRoot(ctx, view.parentId);
  return { message: view, duplicate: false };
};

/**
 * What the write path works out before the insert, stored with the message: the thread root
 * (checked: a VISIBLE top-level message of this room) and the mentions. `@username` counts
 * only for a member of the room other than the author; at most MENTIONS_MAX are looked up.
 */
async function draftExtra(ctx: CommandContext, room: Pick<RoomDoc, '_id' | 'kind' | 'pair'>, authorId: string, body: string, parentId: string | undefined): Promise<DraftExtra> {
  const found = mentionsIn(body);
  const [, mentions] = await Promise.all([parentId !== undefined ? assertThreadRoot(ctx, room._id, parentId) : undefined, found.usernames.length > 0 ? mentionedMembers(ctx, room, authorId, found.usernames) : []]);
  return { parentId: parentId ?? null, mentions, mentionsRoom: found.room };
}

/** A reply's root: a VISIBLE top-level message of the same room, else BAD_USER_INPUT saying which. */
async function assertThreadRoot(ctx: CommandContext, room: string, parentId: string): Promise<void> {
  const root = await ctx.messages.findById(parentId);
  if (!root || root.room !== room) throw badInput(`parentId: no message "${parentId}" in this room`);
  if (root.parentId) throw badInput(`parentId: "${parentId}" is itself a reply; reply to its thread root "${root.parentId}"`);
  if (root.status !== 'VISIBLE') throw badInput(`parentId: the thread root "${parentId}" is ${root.status.toLowerCase()}`);
}

/** Of these usernames, the ids of the room's members other than the author. */
export async function mentionedMembers(ctx: CommandContext, room: Pick<RoomDoc, '_id' | 'kind' | 'pair'>, authorId: string, usernames: string[]): Promise<string[]> {
  const users = await Promise.all(usernames.map((u) => ctx.users.findByUsername(u)));
  const ids = users.flatMap((u) => (u && u._id !== authorId ? [u._id] : []));
  const member = room.kind === 'DIRECT' ? ids.map((id) => room.pair.includes(id)) : await Promise.all(ids.map((id) => ctx.rooms.isMember(room._id, id)));
  return ids.filter((_, i) => member[i]);
}

/** The thread root's reply count and time, recounted and shown to the room (coalesced per root). */
async function recountRoot(ctx: CommandContext, root: string): Promise<void> {
  await ctx.recounts.thread(root);
}

/**
 * What a posted message changes in read state besides the room's activity (which the store
 * keeps with every insert): the author has read up to it, and the people it mentions have an
 * unread mention. Mentions count only for members of the room, never the author.
 */
async function afterPosted(ctx: CommandContext, room: { _id: string }, m: MessageView, retried: boolean): Promise<void> {
  const writes: Promise<unknown>[] = [ctx.readState.advance(room._id, m.author.id, m.seq, ctx.now())];
  const mentions = m.mentions ?? [];
  if (mentions.length > 0) writes.push(ctx.readState.mentioned(room._id, m.seq, mentions));
  if (m.mentionsRoom) writes.push(ctx.readState.mentionedRoom(room._id, m.seq));
  // A retry after a crash between the insert and the activity update: post it again (a no-op otherwise).
  if (retried) writes.push(ctx.readState.posted({ ...m, _id: m.id, authorId: m.author.id, createdAt: new Date(m.createdAt), editedAt: m.editedAt ? new Date(m.editedAt) : null }));
  await Promise.all(writes);
}

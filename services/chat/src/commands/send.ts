import { AppError, ErrorCode, forbidden, mentionsIn, notFound, type MessageView } from '@conversa/contracts';
import { toMessageView, toUserView } from '@conversa/store';
import { normalizeBody } from '../domain.js';
import { assertCanSend, assertNotMuted } from '../rules.js';
import type { CommandContext, CommandHandler } from './context.js';
import { duplicateOf } from './sequencer.js';

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
  const stored = await ctx.sequencer.insert(room._id, { author, body, clientMsgId: c.clientMsgId });
  if ('duplicate' in stored) {
    // A retry of a send that may have stopped between its insert and its read state: the
    // read-state writes are idempotent, so they are made sure of again.
    await afterPosted(ctx, room, stored.message, true);
    return stored;
  }
  const view = toMessageView(stored, author);
  await afterPosted(ctx, room, view, false);
  await ctx.publish(room._id, { kind: 'message.added', message: view });
  return { message: view, duplicate: false };
};

/**
 * What a posted message changes in read state besides the room's activity (which the store
 * keeps with every insert): the author has read up to it, and the people it mentions have an
 * unread mention. Mentions count only for members of the room, never the author.
 */
async function afterPosted(ctx: CommandContext, room: { _id: string; kind: string; pair: readonly string[] }, m: MessageView, retried: boolean): Promise<void> {
  const found = mentionsIn(m.body);
  const mentioned = async (): Promise<string[]> => {
    const users = await Promise.all(found.usernames.map((u) => ctx.users.findByUsername(u)));
    const ids = users.flatMap((u) => (u && u._id !== m.author.id ? [u._id] : []));
    const member = room.kind === 'DIRECT' ? ids.map((id) => room.pair.includes(id)) : await Promise.all(ids.map((id) => ctx.rooms.isMember(room._id, id)));
    return ids.filter((_, i) => member[i]);
  };
  const writes: Promise<unknown>[] = [ctx.readState.advance(room._id, m.author.id, m.seq, ctx.now())];
  if (found.usernames.length > 0) writes.push(mentioned().then((ids) => ctx.readState.mentioned(room._id, m.seq, ids)));
  if (found.room) writes.push(ctx.readState.mentionedRoom(room._id, m.seq));
  // A retry after a crash between the insert and the activity update: post it again (a no-op otherwise).
  if (retried) writes.push(ctx.readState.posted({ ...m, _id: m.id, authorId: m.author.id, createdAt: new Date(m.createdAt), editedAt: m.editedAt ? new Date(m.editedAt) : null }));
  await Promise.all(writes);
}

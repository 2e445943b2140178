import { AppError, ErrorCode, forbidden, notFound } from '@conversa/contracts';
import { toMessageView, toUserView } from '@conversa/store';
import { normalizeBody } from '../domain.js';
import { assertCanSend, assertNotMuted } from '../rules.js';
import type { CommandHandler } from './context.js';
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
  if ('duplicate' in stored) return stored;
  const view = toMessageView(stored, author);
  await ctx.publish(room._id, { kind: 'message.added', message: view });
  return { message: view, duplicate: false };
};

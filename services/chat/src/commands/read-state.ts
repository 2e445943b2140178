import { AppError, ErrorCode, badInput, canReadRoom, forbidden, notFound } from '@conversa/contracts';
import { toRoomView, toUserView } from '@conversa/store';
import type { CommandHandler } from './context.js';

/**
 * Moves the caller's read position up to `seq`. Only someone who may read the room has one;
 * a seq above the room's newest message is refused (it would make later messages read before
 * they exist); a lower seq than the current position changes nothing. Read mentions are
 * forgotten.
 */
export const markRead: CommandHandler<'room.markRead'> = async (c, ctx) => {
  const [user, room] = await Promise.all([ctx.reads.user(c.actor), ctx.reads.room(c.room)]);
  if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
  if (!room) throw notFound(`room: no room "${c.room}"`);
  const member = room.kind === 'GROUP' && (await ctx.rooms.isMember(room._id, c.actor));
  if (!canReadRoom(room, c.actor, member)) throw forbidden('room: you are not a member of this room');
  const activity = await ctx.readState.activity(room._id);
  const lastSeq = activity?.lastSeq ?? (await ctx.messages.lastSeq(room._id));
  if (c.seq > lastSeq) throw badInput(`seq: ${c.seq} is beyond the room's newest message (lastSeq ${lastSeq})`, { field: 'seq' });
  const at = ctx.now();
  const moved = c.seq > 0 && (await ctx.readState.advance(room._id, c.actor, c.seq, at));
  if (moved) {
    await ctx.readState.readMentions(room._id, c.actor, c.seq);
    // Receipts: the room's subscribers see the position move (gateways leave private ones out).
    await Promise.all([
      ctx.publish(room._id, { kind: 'read', user: toUserView(user), lastReadSeq: c.seq, at: at.toISOString(), private: user.receiptsPrivate === true }),
      // The person's other devices: their inbox streams.
      ctx.publishToUser(c.actor, { kind: 'read', room: room._id, lastReadSeq: c.seq }),
    ]);
  }
  return { room: toRoomView(room), moved };
};

/** Hides (or shows again) the caller's read positions from the other members; their own counts stay. */
export const setReceiptsPrivate: CommandHandler<'user.setReceiptsPrivate'> = async (c, ctx) => {
  const user = await ctx.users.setReceiptsPrivate(c.actor, c.private);
  if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
  return { user: toUserView(user) };
};

import { badInput, canReadRoom, forbidden, notFound } from '@conversa/contracts';
import { toRoomView } from '@conversa/store';
import type { CommandHandler } from './context.js';

/**
 * Moves the caller's read position up to `seq`. Only someone who may read the room has one;
 * a seq above the room's newest message is refused (it would make later messages read before
 * they exist); a lower seq than the current position changes nothing. Read mentions are
 * forgotten.
 */
export const markRead: CommandHandler<'room.markRead'> = async (c, ctx) => {
  const room = await ctx.reads.room(c.room);
  if (!room) throw notFound(`room: no room "${c.room}"`);
  if (!canReadRoom(room, c.actor)) throw forbidden('room: you are not a member of this room');
  const activity = await ctx.readState.activity(room._id);
  const lastSeq = activity?.lastSeq ?? (await ctx.messages.lastSeq(room._id));
  if (c.seq > lastSeq) throw badInput(`seq: ${c.seq} is beyond the room's newest message (lastSeq ${lastSeq})`, { field: 'seq' });
  const moved = c.seq > 0 && (await ctx.readState.advance(room._id, c.actor, c.seq, ctx.now()));
  if (moved) await ctx.readState.readMentions(room._id, c.actor, c.seq);
  return { room: toRoomView(room), moved };
};

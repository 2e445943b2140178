import { LIMITS, notFound, type MessageView } from '@conversa/contracts';
import { toMessageView, toRoomView, type MessageDoc, type RoomDoc } from '@conversa/store';
import { assertCanPin, assertPinnable, notPinnable, roomFullOfPins } from '../pin-rules.js';
import { actorOf, authorOf, messageToChange, type CommandContext, type CommandHandler } from './context.js';

/**
 * Pins (API-product.graphql): pinMessage / unpinMessage. The store orders the writes (the
 * room's row and the message's flag with its event) so that a retried job finishes an
 * interrupted one, and runs them under the room's pin lock across chat processes; here, the
 * same room's pins also wait for each other in this process first (not behind its sends: a key
 * of their own). A change is published twice: `message.updated` to the room's subscribers (the
 * message with `pinned` flipped), `room.updated` to its members' inbox streams (UPDATED).
 */

/** The message a pin command is about, its room, and the caller, who must be allowed. */
async function pinTarget(ctx: CommandContext, actorId: string, id: string): Promise<{ m: MessageDoc; room: RoomDoc; by: string }> {
  const actor = await actorOf(ctx, actorId);
  const m = await messageToChange(ctx, id);
  const room = await ctx.reads.room(m.room);
  if (!room) throw notFound(`id: no message "${id}"`);
  // A group's roles are read from the store every time (not cached): a demoted ADMIN is refused at once.
  const member = room.kind === 'GROUP' ? await ctx.groups.member(room._id, actor.id) : null;
  assertCanPin(room, actor, member);
  return { m, room, by: actor.id };
}

const underPinLock = <T>(ctx: CommandContext, room: string, task: () => Promise<T>): Promise<T> => ctx.roomLocks.run(`pins/${room}`, task);

const viewOf = async (ctx: CommandContext, m: MessageDoc): Promise<MessageView> => toMessageView(m, await authorOf(ctx, m.authorId));

/** Subscribers of the room get the message; members' inbox streams get the room as UPDATED. */
async function announce(ctx: CommandContext, room: RoomDoc, message: MessageView): Promise<void> {
  await ctx.publish(room._id, { kind: 'message.updated', message });
  // The room as stored now (not the send path's cached copy): inbox streams take its name from it.
  await ctx.publish(room._id, { kind: 'room.updated', room: toRoomView((await ctx.rooms.findById(room._id)) ?? room) });
}

export const pin: CommandHandler<'message.pin'> = async (c, ctx) => {
  const { m, room, by } = await pinTarget(ctx, c.actor, c.id);
  assertPinnable(m);
  const before = await viewOf(ctx, m);
  if (m.pinnedAt) return { message: before }; // pinned already: nothing to do, no event
  const event = ctx.makeEvent('message.pinned', m.room, by, { message: { ...before, pinned: true }, by });
  const out = await underPinLock(ctx, m.room, () => ctx.pins.pin({ id: m._id, room: m.room, by, at: ctx.now(), limit: LIMITS.pinsPerRoom }, event));
  switch (out.kind) {
    case 'full':
      throw roomFullOfPins(out.limit);
    case 'refused':
      // Deleted or hidden between the read above and the store's (messages are never removed).
      throw notPinnable(out.message?.status ?? 'DELETED');
    case 'unchanged':
      return { message: await viewOf(ctx, out.message) };
    case 'pinned': {
      const message = await viewOf(ctx, out.message);
      await announce(ctx, room, message);
      return { message };
    }
  }
};

export const unpin: CommandHandler<'message.unpin'> = async (c, ctx) => {
  const { m, room, by } = await pinTarget(ctx, c.actor, c.id);
  const before = await viewOf(ctx, m);
  const event = ctx.makeEvent('message.unpinned', m.room, by, { message: { ...before, pinned: false }, by });
  // Run even when the message reads as not pinned: an interrupted unpin's retry still has the
  // room's row to delete (the store does, and stores no event then).
  const out = await underPinLock(ctx, m.room, () => ctx.pins.unpin({ id: m._id, room: m.room }, event));
  if (!out.changed) return { message: out.message ? await viewOf(ctx, out.message) : before };
  const message = await viewOf(ctx, out.message!);
  await announce(ctx, room, message);
  return { message };
};

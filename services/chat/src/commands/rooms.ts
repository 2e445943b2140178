import { badInput, forbidden, notFound } from '@conversa/contracts';
import { toRoomView } from '@conversa/store';
import { directRoomId, publicRoomId } from '../domain.js';
import { actorOf, adminOf, type CommandHandler } from './context.js';
import { leaveGroup } from './groups.js';

export const join: CommandHandler<'room.join'> = async (c, ctx) => {
  const user = await actorOf(ctx, c.actor);
  const id = publicRoomId(c.name);
  return ctx.roomLocks.run(id, async () => {
    // The room is usually cached; a miss is a read that said "absent" (the cache keeps no
    // absences), so the insert goes first.
    const room =
      (await ctx.reads.room(id)) ??
      (
        await ctx.rooms.ensure(
          {
            _id: id,
            name: c.name.trim(),
            kind: 'PUBLIC',
            pair: [],
            createdAt: ctx.now(),
            outbox: [ctx.makeEvent('room.created', id, user.id, { room: id, name: c.name.trim(), kind: 'PUBLIC', members: [] })],
          },
          { absent: true },
        )
      ).room;
    // Not a member as far as the cache knows: most likely a first join, tried as one insert.
    const likelyNew = !(await ctx.reads.isMember(id, user.id));
    const joined = await ctx.rooms.setMembership(id, user.id, true, ctx.makeEvent('room.joined', id, user.id, { room: id, user: user.id }), { likelyNew });
    if (joined) await ctx.publishToUser(user.id, { kind: 'added', room: id });
    return { room: toRoomView(room) };
  });
};

export const leave: CommandHandler<'room.leave'> = async (c, ctx) => {
  const room = await ctx.reads.room(c.room); // its kind never changes
  if (!room) throw notFound(`room: no room "${c.room}"`);
  if (room.kind === 'DIRECT') throw forbidden('room: a private room cannot be left');
  if (room.kind === 'GROUP') return { left: await leaveGroup(ctx, room, c.actor) };
  const event = ctx.makeEvent('room.left', c.room, c.actor, { room: c.room, user: c.actor });
  const left = await ctx.roomLocks.run(c.room, () => ctx.rooms.setMembership(c.room, c.actor, false, event));
  if (left) await ctx.publishToUser(c.actor, { kind: 'removed', room: c.room });
  return { left };
};

export const openDirect: CommandHandler<'room.openDirect'> = async (c, ctx) => {
  if (c.peer === c.actor) throw badInput('userId: a private room needs another person, not yourself', { field: 'userId' });
  const [me, peer] = await Promise.all([actorOf(ctx, c.actor), ctx.reads.user(c.peer)]);
  if (!peer) throw notFound(`userId: no user "${c.peer}"`);
  // Blocked by the peer: refused without saying why (commands/blocks.ts).
  if (await ctx.blocks.blocks(peer._id, me.id)) throw forbidden('userId: not allowed');
  const id = directRoomId(me.id, peer._id);
  const pair = [me.id, peer._id].sort();
  const created = [ctx.makeEvent('room.created', id, me.id, { room: id, name: 'direct', kind: 'DIRECT', members: pair })];
  // The id is derived from the pair and unique: both opening at once still yields one room.
  const cached = await ctx.reads.room(id);
  if (cached) return { room: toRoomView(cached) };
  const { room, created: isNew } = await ctx.rooms.ensure({ _id: id, name: 'direct', kind: 'DIRECT', pair, createdAt: ctx.now(), outbox: created }, { absent: true });
  // A new private room enters both people's room lists.
  if (isNew) await Promise.all(pair.map((u) => ctx.publishToUser(u, { kind: 'added', room: id })));
  return { room: toRoomView(room) };
};

/** Slow mode is enforced by the gateways at send time (they read it from the room). */
export const setSlowMode: CommandHandler<'room.setSlowMode'> = async (c, ctx) => {
  const admin = await adminOf(ctx, c.actor);
  const room = await ctx.rooms.findById(c.room);
  if (!room) throw notFound(`room: no room "${c.room}"`);
  if (room.kind !== 'PUBLIC') throw forbidden('room: slow mode is for public rooms');
  const previousSeconds = room.slowModeSeconds ?? 0;
  if (previousSeconds === c.seconds) return { room: toRoomView(room) };
  const event = ctx.makeEvent('room.slowModeSet', room._id, admin.id, { room: room._id, seconds: c.seconds, previousSeconds });
  const stored = await ctx.rooms.setSlowMode(room._id, c.seconds, event);
  if (!stored) throw notFound(`room: no room "${c.room}"`);
  await ctx.publish(room._id, { kind: 'room.updated', room: toRoomView(stored) });
  return { room: toRoomView(stored) };
};

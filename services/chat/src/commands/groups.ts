import { forbidden, notFound, conflict, type AccessSignal, type RoomView } from '@conversa/contracts';
import { toRoomView, type RoomDoc } from '@conversa/store';
import { assertCanLeave, assertGroupRoom, assertManager, assertMember, assertRemovable, assertRoomFor, initialMembers, roleChanges } from '../group-rules.js';
import { actorOf, type CommandContext, type CommandHandler } from './context.js';

/**
 * Group rooms (API-product.graphql, "group rooms"). Every membership change of a group runs
 * under the room's local mutex (`roomLocks`, as joins do) and the group's lock across chat
 * processes (`groups.locked`): the decisions (one OWNER, at most 1,000 people, who may) are
 * read and written under them. Each membership write stores its event in the same write.
 */

/** The group a command manages: NOT_FOUND, or refused unless it is a group (see assertGroupRoom). */
async function groupRoom(ctx: CommandContext, id: string, actor: string): Promise<RoomDoc> {
  const room = await ctx.reads.room(id);
  if (!room) throw notFound(`room: no room "${id}"`);
  assertGroupRoom(room, actor);
  return room;
}

/** The person a command is about, who must exist. */
async function targetUser(ctx: CommandContext, id: string): Promise<void> {
  if (!(await ctx.reads.user(id))) throw notFound(`userId: no user "${id}"`);
}

/** Serializes one group's membership changes: in this process, then across processes. */
const underGroupLock = <T>(ctx: CommandContext, room: string, task: () => Promise<T>): Promise<T> =>
  ctx.roomLocks.run(room, () => ctx.groups.locked(room, task));

/** Ends the person's live subscriptions to the room on every gateway (best effort: gateways also check membership at subscribe). */
async function revoke(ctx: CommandContext, user: string, room: string): Promise<void> {
  const signal: AccessSignal = { kind: 'access.revoked', user, room, reason: 'removed' };
  try {
    await ctx.moderation.revokeAccess?.(signal);
  } catch (e) {
    ctx.logger.warn({ err: e, user, room }, 'access revocation not published');
  }
}

const view = async (ctx: CommandContext, id: string, fallback: RoomDoc): Promise<RoomView> => toRoomView((await ctx.rooms.findById(id)) ?? fallback);

/** The room changed for everyone in it (members, roles, name): room lists show it again. */
const updated = (ctx: CommandContext, room: RoomView): Promise<void> => ctx.publish(room.id, { kind: 'room.updated', room });

export const createGroup: CommandHandler<'group.create'> = async (c, ctx) => {
  const owner = await actorOf(ctx, c.actor);
  const others = initialMembers(owner.id, c.members);
  const found = new Set((await ctx.users.findByIds(others)).map((u) => u._id));
  const missing = others.find((m) => !found.has(m));
  if (missing !== undefined) throw notFound(`members: no user "${missing}"`);
  const blockers = await ctx.blocks.blockersOf(owner.id, others);
  if (blockers.length > 0) throw forbidden(`members: adding "${blockers[0]}" is not allowed`);
  // A retried job finds its group: nothing more to do (the memberships were written first).
  const existing = await ctx.rooms.findById(c.room);
  if (existing) {
    if (existing.kind !== 'GROUP' || existing.createdBy !== owner.id) throw conflict(`room: the id "${c.room}" is taken`);
    return { room: toRoomView(existing) };
  }
  const now = ctx.now();
  // Memberships first, the room with its room.created (listing them) last: until the room
  // exists nobody reads the memberships, and an interrupted create is finished by its retry.
  await ctx.groups.insertInitial(c.room, [{ user: owner.id, role: 'OWNER' }, ...others.map((user) => ({ user, role: 'MEMBER' as const }))], now);
  const created = ctx.makeEvent('room.created', c.room, owner.id, { room: c.room, name: c.name, kind: 'GROUP', members: [owner.id, ...others] });
  const { room } = await ctx.groups.createRoom({ _id: c.room, name: c.name, kind: 'GROUP', pair: [], createdAt: now, createdBy: owner.id, outbox: [created] });
  if (room.kind !== 'GROUP' || room.createdBy !== owner.id) throw conflict(`room: the id "${c.room}" is taken`);
  // The new group enters every member's room list.
  await Promise.all([owner.id, ...others].map((u) => ctx.publishToUser(u, { kind: 'added', room: room._id })));
  return { room: toRoomView(room) };
};

export const addMember: CommandHandler<'group.addMember'> = async (c, ctx) => {
  await actorOf(ctx, c.actor);
  const room = await groupRoom(ctx, c.room, c.actor);
  await targetUser(ctx, c.user);
  const added = await underGroupLock(ctx, room._id, async () => {
    assertManager(await ctx.groups.member(room._id, c.actor));
    if (await ctx.groups.member(room._id, c.user)) return false; // adding twice is a no-op
    if (await ctx.blocks.blocks(c.user, c.actor)) throw forbidden('userId: not allowed');
    assertRoomFor(await ctx.groups.count(room._id));
    const event = ctx.makeEvent('room.member_added', room._id, c.actor, { room: room._id, user: c.user, role: 'MEMBER' });
    await ctx.groups.add(room._id, c.user, 'MEMBER', event, ctx.now());
    return true;
  });
  const after = await view(ctx, room._id, room);
  if (added) await Promise.all([ctx.publishToUser(c.user, { kind: 'added', room: room._id }), updated(ctx, after)]);
  return { room: after };
};

export const removeMember: CommandHandler<'group.removeMember'> = async (c, ctx) => {
  await actorOf(ctx, c.actor);
  const room = await groupRoom(ctx, c.room, c.actor);
  await targetUser(ctx, c.user);
  const removed = await underGroupLock(ctx, room._id, async () => {
    assertManager(await ctx.groups.member(room._id, c.actor));
    const target = await ctx.groups.member(room._id, c.user);
    if (!target) return false; // not (or no longer) a member: nothing to do
    assertRemovable(target);
    const event = ctx.makeEvent('room.member_removed', room._id, c.actor, { room: room._id, user: c.user });
    return ctx.groups.remove(room._id, c.user, event);
  });
  // After the write: a gateway that hears it and re-checks reads the membership as ended.
  if (removed) await revoke(ctx, c.user, room._id);
  const after = await view(ctx, room._id, room);
  if (removed) await Promise.all([ctx.publishToUser(c.user, { kind: 'removed', room: room._id }), updated(ctx, after)]);
  return { room: after };
};

export const setMemberRole: CommandHandler<'group.setRole'> = async (c, ctx) => {
  await actorOf(ctx, c.actor);
  const room = await groupRoom(ctx, c.room, c.actor);
  await targetUser(ctx, c.user);
  await underGroupLock(ctx, room._id, async () => {
    const [actor, target] = await Promise.all([ctx.groups.member(room._id, c.actor), ctx.groups.member(room._id, c.user)]);
    for (const change of roleChanges(actor, target, c.role, c.user)) {
      const event = ctx.makeEvent('room.role_changed', room._id, c.actor, { room: room._id, ...change });
      await ctx.groups.setRole(room._id, change.user, change.role, event);
    }
  });
  const after = await view(ctx, room._id, room);
  await updated(ctx, after);
  return { room: after };
};

export const renameRoom: CommandHandler<'room.rename'> = async (c, ctx) => {
  await actorOf(ctx, c.actor);
  const room = await groupRoom(ctx, c.room, c.actor);
  const renamed = await underGroupLock(ctx, room._id, async () => {
    assertManager(await ctx.groups.member(room._id, c.actor));
    const current = await ctx.rooms.findById(room._id);
    if (!current) throw notFound(`room: no room "${c.room}"`);
    if (current.name === c.name) return current;
    const event = ctx.makeEvent('room.renamed', room._id, c.actor, { room: room._id, name: c.name, previousName: current.name });
    return (await ctx.groups.rename(room._id, c.name, event)) ?? current;
  });
  await updated(ctx, toRoomView(renamed));
  return { room: toRoomView(renamed) };
};

/**
 * leaveRoom of a group: a MEMBER or ADMIN leaves (a `room.left` event; their live
 * subscriptions end as a removal's do); the OWNER is refused (CONFLICT) while others remain,
 * and may leave as the last member (the group then has nobody, and nobody can be added).
 */
export async function leaveGroup(ctx: CommandContext, room: RoomDoc, actor: string): Promise<boolean> {
  const left = await underGroupLock(ctx, room._id, async () => {
    const me = await ctx.groups.member(room._id, actor);
    if (!me) return false;
    assertMember(me);
    assertCanLeave(me, await ctx.groups.count(room._id));
    return ctx.groups.remove(room._id, actor, ctx.makeEvent('room.left', room._id, actor, { room: room._id, user: actor }));
  });
  if (left) {
    await revoke(ctx, actor, room._id);
    await Promise.all([ctx.publishToUser(actor, { kind: 'removed', room: room._id }), updated(ctx, await view(ctx, room._id, room))]);
  }
  return left;
}

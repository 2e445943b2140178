import { randomUUID } from 'node:crypto';
import type { MemberRole, RoomView, UserView } from '@conversa/contracts';
import { toUserView } from '@conversa/store';
import { requireUser, type GatewayContext } from './context.js';
import { CreateGroupArgs, MemberArgs, RenameRoomArgs, SetMemberRoleArgs, UserIdArgs, parseArgs } from './validation.js';

/**
 * Group rooms and blocking (API-product.graphql): the resolvers, merged into the map of
 * resolvers.ts by `withGroupResolvers`. Reads and subscriptions of a group room are authorized
 * by `readableRoom` (context.ts), which reads the caller's membership from the store.
 */

type Args = Record<string, unknown>;

/** Member lists: the OWNER first, then ADMINs, then MEMBERs. */
const ROLE_ORDER: Record<MemberRole, number> = { OWNER: 0, ADMIN: 1, MEMBER: 2 };

export const groupResolvers = {
  Query: {
    blockedUsers: async (_: unknown, __: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const ids = await ctx.services.store.blocks.blockedBy(p.id);
      const users = new Map((await ctx.services.store.users.findByIds(ids)).map((u) => [u._id, toUserView(u)]));
      return ids.flatMap((id) => users.get(id) ?? []);
    },
  },

  Mutation: {
    createGroup: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(CreateGroupArgs, args);
      await ctx.services.limits.hit('join', p.id);
      // The id is chosen here so that the job, if BullMQ retries it, finishes this same group.
      const { room } = await ctx.services.bus.execute({ type: 'group.create', actor: p.id, room: `grp-${randomUUID()}`, name: a.name, members: a.members });
      return room;
    },
    addMember: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(MemberArgs, args);
      await ctx.services.limits.hit('join', p.id);
      const { room } = await ctx.services.bus.execute({ type: 'group.addMember', actor: p.id, room: a.room, user: a.userId });
      return room;
    },
    removeMember: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(MemberArgs, args);
      const { room } = await ctx.services.bus.execute({ type: 'group.removeMember', actor: p.id, room: a.room, user: a.userId });
      return room;
    },
    setMemberRole: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(SetMemberRoleArgs, args);
      const { room } = await ctx.services.bus.execute({ type: 'group.setRole', actor: p.id, room: a.room, user: a.userId, role: a.role });
      return room;
    },
    renameRoom: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(RenameRoomArgs, args);
      const { room } = await ctx.services.bus.execute({ type: 'room.rename', actor: p.id, room: a.room, name: a.name });
      return room;
    },
    blockUser: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(UserIdArgs, args);
      await ctx.services.bus.execute({ type: 'user.block', actor: p.id, user: a.userId });
      return true;
    },
    unblockUser: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const p = requireUser(ctx);
      const a = parseArgs(UserIdArgs, args);
      await ctx.services.bus.execute({ type: 'user.unblock', actor: p.id, user: a.userId });
      return true;
    },
  },

  Room: {
    /** @perViewer: the caller's own role; null outside groups and for non-members. */
    myRole: async (room: RoomView, _: Args, ctx: GatewayContext): Promise<MemberRole | null> => {
      if (room.kind !== 'GROUP' || !ctx.principal) return null;
      return (await ctx.services.store.groups.member(room.id, ctx.principal.id))?.role ?? null;
    },
    /** The members with their roles (the same for every reader: no @perViewer); [] outside groups. */
    memberRoles: async (room: RoomView, _: Args, ctx: GatewayContext): Promise<{ user: UserView; role: MemberRole }[]> => {
      if (room.kind !== 'GROUP') return [];
      const members = await ctx.services.store.groups.members(room.id);
      const users = new Map((await ctx.services.store.users.findByIds(members.map((m) => m.user))).map((u) => [u._id, toUserView(u)]));
      return members
        .flatMap((m) => {
          const user = users.get(m.user);
          return user ? [{ user, role: m.role }] : [];
        })
        .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.user.displayName.localeCompare(b.user.displayName));
    },
  },
};

type ResolverMap = Record<string, object>;

/** `base` with each extra map merged in, type by type (a feature's resolvers live in their own file). */
export function mergeResolvers<T extends ResolverMap>(base: T, ...extras: ResolverMap[]): T {
  const merged: ResolverMap = { ...base };
  for (const extra of extras)
    for (const [type, fields] of Object.entries(extra)) {
      const existing = merged[type];
      merged[type] = existing ? { ...existing, ...fields } : fields;
    }
  return merged as T;
}

/** The resolver map with the group resolvers merged in, type by type. */
export function withGroupResolvers<T extends ResolverMap>(base: T): T {
  return mergeResolvers(base, groupResolvers);
}

import type { MessageView } from '@conversa/contracts';
import { readableRoom, requireUser, withAuthors, type GatewayContext } from './context.js';
import { IdArgs, RoomArgs, parseArgs } from './validation.js';

/**
 * Pins (API-product.graphql): the resolvers, merged into the map of resolvers.ts by
 * `withPinResolvers`. The mutations are commands (the chat worker decides who may, and keeps the
 * room's limit); `Message.pinned` needs no resolver of its own: every MessageView carries it.
 */

type Args = Record<string, unknown>;

export const pinResolvers = {
  Query: {
    /**
     * Newest pin first, for whoever may read the room (as `messages`). A deleted message is left
     * out (it keeps its pin until someone unpins it); a hidden one is shown to site admins only,
     * whose `body` resolver reads it.
     */
    pinnedMessages: async (_: unknown, args: Args, ctx: GatewayContext): Promise<MessageView[]> => {
      const p = requireUser(ctx);
      const a = parseArgs(RoomArgs, args);
      await readableRoom(ctx, a.room);
      const docs = await ctx.services.store.pins.pinnedMessages(a.room);
      const shown = docs.filter((d) => d.status === 'VISIBLE' || (d.status === 'HIDDEN' && p.role === 'ADMIN'));
      return withAuthors(ctx.services.store, shown);
    },
  },

  Mutation: {
    // Rate limited and validated as editMessage is: a change of one message, one command.
    pinMessage: async (_: unknown, args: Args, ctx: GatewayContext): Promise<MessageView> => {
      const p = requireUser(ctx);
      const a = parseArgs(IdArgs, args);
      await ctx.services.limits.hit('send', p.id);
      const { message } = await ctx.services.bus.execute({ type: 'message.pin', actor: p.id, id: a.id });
      return message;
    },
    unpinMessage: async (_: unknown, args: Args, ctx: GatewayContext): Promise<MessageView> => {
      const p = requireUser(ctx);
      const a = parseArgs(IdArgs, args);
      await ctx.services.limits.hit('send', p.id);
      const { message } = await ctx.services.bus.execute({ type: 'message.unpin', actor: p.id, id: a.id });
      return message;
    },
  },
};

type ResolverMap = Record<string, object>;

/** The resolver map with the pin resolvers merged in, type by type. */
export function withPinResolvers<T extends ResolverMap>(base: T): T {
  const merged: ResolverMap = { ...base };
  for (const [type, fields] of Object.entries(pinResolvers)) {
    const existing = merged[type];
    merged[type] = existing ? { ...existing, ...fields } : fields;
  }
  return merged as T;
}

import { badInput, notFound, parseReaction, type MessageView, type ReactionSummaryView, type UserView } from '@conversa/contracts';
import { GHOST_USER, toUserView } from '@conversa/store';
import { readableRoom, requireUser, withAuthors, type GatewayContext } from './context.js';
import { ReactArgs, ThreadArgs, parseArgs } from './validation.js';

/**
 * Threads, reactions and mentions (API-product.graphql), merged into resolvers.ts' map.
 * Message fields read what the message carries (the chat worker stored it and recounted the
 * summaries), so a live event renders without a database trip unless users must be named.
 */

type Args = Record<string, unknown>;

/** A reaction summary as the resolvers pass it on: which message it belongs to. */
interface ReactionOf extends ReactionSummaryView {
  message: string;
}

/** Users by id, in the order asked, ghosts for accounts that are gone; shared by concurrent identical look-ups. */
async function usersInOrder(ctx: GatewayContext, ids: readonly string[]): Promise<UserView[]> {
  if (ids.length === 0) return [];
  const found = await (ctx.services.usersByIds ?? ((x: string[]) => ctx.services.store.users.findByIds(x).then((us) => us.map(toUserView))))([...ids]);
  const byId = new Map(found.map((u) => [u.id, u]));
  return ids.map((id) => byId.get(id) ?? { ...GHOST_USER, id });
}

export const threadResolvers = {
  Query: {
    thread: async (_: unknown, args: Args, ctx: GatewayContext) => {
      const a = parseArgs(ThreadArgs, args);
      const root = await ctx.services.store.messages.findById(a.root);
      if (!root) throw notFound(`root: no message "${a.root}"`);
      await readableRoom(ctx, root.room);
      if (root.parentId) throw badInput(`root: "${a.root}" is a reply; its thread root is "${root.parentId}"`);
      const page = await ctx.services.store.messages.threadPage(root._id, { limit: a.limit, ...(a.after != null ? { after: a.after } : {}) });
      return { messages: await withAuthors(ctx.services.store, page.messages), hasMore: page.hasMore };
    },
  },

  Mutation: {
    react: (_: unknown, args: Args, ctx: GatewayContext) => reaction(ctx, args, 'message.react'),
    unreact: (_: unknown, args: Args, ctx: GatewayContext) => reaction(ctx, args, 'message.unreact'),
  },

  Message: {
    parentId: (m: MessageView) => m.parentId ?? null,
    replyCount: (m: MessageView) => m.replyCount ?? 0,
    lastReplyAt: (m: MessageView) => m.lastReplyAt ?? null,
    mentionsRoom: (m: MessageView) => m.mentionsRoom ?? false,
    mentions: (m: MessageView, _: Args, ctx: GatewayContext) => usersInOrder(ctx, m.mentions ?? []),
    // Hidden and deleted messages show no reactions (their rows stay, should they be shown again).
    reactions: (m: MessageView): ReactionOf[] => (m.status === 'VISIBLE' ? (m.reactions ?? []).map((r) => ({ ...r, message: m.id })) : []),
  },

  ReactionSummary: {
    /**
     * @perViewer. From the reactors the message carries (LIMITS.reactionUsersKept per emoji);
     * beyond them, the caller's own reaction row answers.
     */
    reactedByMe: (r: ReactionOf, _: Args, ctx: GatewayContext): boolean | Promise<boolean> => {
      const me = ctx.principal?.id;
      if (!me) return false;
      if (r.users.includes(me)) return true;
      return r.count > r.users.length ? ctx.services.store.reactions.has(r.message, r.emoji, me) : false;
    },
    users: (r: ReactionOf, args: Args, ctx: GatewayContext) => {
      const limit = typeof args.limit === 'number' ? args.limit : 10;
      if (!Number.isInteger(limit) || limit < 0 || limit > 100) throw badInput('limit must be 0..100');
      return usersInOrder(ctx, r.users.slice(0, limit));
    },
  },
};

async function reaction(ctx: GatewayContext, args: Args, type: 'message.react' | 'message.unreact'): Promise<MessageView> {
  const p = requireUser(ctx);
  const a = parseArgs(ReactArgs, args);
  const emoji = parseReaction(a.emoji);
  if (!emoji.ok) throw badInput(emoji.error);
  // Rate-limited like sends: the same per-person bucket.
  await ctx.services.limits.hit('send', p.id);
  const { message } = await ctx.services.bus.execute({ type, actor: p.id, id: a.messageId, emoji: emoji.emoji });
  return message;
}

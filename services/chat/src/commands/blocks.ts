import { badInput, notFound } from '@conversa/contracts';
import { actorOf, type CommandContext, type CommandHandler } from './context.js';

/**
 * Blocking (API-product.graphql): the blocked person can no longer open a direct room with
 * the blocker, send into their direct room, or add the blocker to a group; each is refused
 * with FORBIDDEN "not allowed", saying no more. Blocks are the blocker's private business:
 * no event, nothing the blocked person can read.
 */

async function other(ctx: CommandContext, actor: string, user: string): Promise<void> {
  if (user === actor) throw badInput('userId: you cannot block or unblock yourself', { field: 'userId' });
  await actorOf(ctx, actor);
  if (!(await ctx.reads.user(user))) throw notFound(`userId: no user "${user}"`);
}

export const blockUser: CommandHandler<'user.block'> = async (c, ctx) => {
  await other(ctx, c.actor, c.user);
  return { changed: await ctx.blocks.block(c.actor, c.user, ctx.now()) };
};

export const unblockUser: CommandHandler<'user.unblock'> = async (c, ctx) => {
  await other(ctx, c.actor, c.user);
  return { changed: await ctx.blocks.unblock(c.actor, c.user) };
};

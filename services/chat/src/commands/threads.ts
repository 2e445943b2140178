import { toMessageView, type MessageDoc } from '@conversa/store';
import { authorOf, type CommandContext } from './context.js';

/** Shows a changed message (a root's new reply count, new reactions) to the room's subscribers. */
export async function publishMessage(ctx: CommandContext, doc: MessageDoc): Promise<void> {
  const author = await authorOf(ctx, doc.authorId);
  await ctx.publish(doc.room, { kind: 'message.updated', message: toMessageView(doc, author) });
}

/**
 * After a reply's status changed (deleted, hidden, shown again): the store has recounted its
 * root (MessageRepository.update); the room sees the root's new count.
 */
export async function publishRootOf(ctx: CommandContext, reply: Pick<MessageDoc, 'parentId'>): Promise<void> {
  if (!reply.parentId) return;
  const root = await ctx.messages.findById(reply.parentId);
  if (root) await publishMessage(ctx, root);
}

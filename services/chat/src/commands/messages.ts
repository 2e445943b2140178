import { forbidden, mentionsIn } from '@conversa/contracts';
import { toMessageView } from '@conversa/store';
import { normalizeBody } from '../domain.js';
import { assertCanDelete, assertCanEdit } from '../rules.js';
import { actorOf, authorOf, messageToChange, type CommandContext, type CommandHandler } from './context.js';
import { mentionedMembers } from './send.js';
import { publishRootOf } from './threads.js';

/** A group's messages are changed by its members only: a removed author can no longer edit or delete theirs. */
async function assertStillMember(ctx: CommandContext, room: string, actor: string): Promise<void> {
  const r = await ctx.reads.room(room);
  if (r?.kind === 'GROUP' && !(await ctx.reads.isMember(room, actor))) throw forbidden('id: you are no longer a member of this group');
}

export const edit: CommandHandler<'message.edit'> = async (c, ctx) => {
  const body = normalizeBody(c.body);
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  assertCanEdit(m, actor);
  await assertStillMember(ctx, m.room, actor.id);
  const editedAt = ctx.now();
  // Message.mentions follows the body. Unread mention counts only grow: a mention the edit adds
  // counts for its person (if unread); one it removes stays counted, as the notification has gone out.
  const found = mentionsIn(body);
  const room = await ctx.reads.room(m.room);
  const mentions = found.usernames.length > 0 && room ? await mentionedMembers(ctx, room, actor.id, found.usernames) : [];
  const view = toMessageView({ ...m, body, editedAt, mentions, mentionsRoom: found.room }, actor);
  const event = ctx.makeEvent('message.edited', m.room, actor.id, { message: view, previousBody: m.body });
  const stored = await ctx.messages.update(m._id, ['VISIBLE'], { body, editedAt, mentions, mentionsRoom: found.room }, event);
  // Deleted or hidden between the read and the write: refuse like the rule would have.
  if (!stored) throw forbidden('id: the message was deleted or hidden meanwhile');
  const added = mentions.filter((id) => !(m.mentions ?? []).includes(id));
  await Promise.all([
    added.length > 0 ? ctx.readState.mentioned(m.room, m.seq, added) : undefined,
    found.room && !m.mentionsRoom ? ctx.readState.mentionedRoom(m.room, m.seq) : undefined,
  ]);
  const out = toMessageView(stored, actor);
  await ctx.publish(m.room, { kind: 'message.updated', message: out });
  return { message: out };
};

export const remove: CommandHandler<'message.delete'> = async (c, ctx) => {
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  assertCanDelete(m, actor);
  if (actor.role !== 'ADMIN') await assertStillMember(ctx, m.room, actor.id);
  const author = m.authorId === actor.id ? actor : await authorOf(ctx, m.authorId);
  if (m.status === 'DELETED') return { message: toMessageView(m, author) };
  const view = toMessageView({ ...m, status: 'DELETED', body: '' }, author);
  const event = ctx.makeEvent('message.deleted', m.room, actor.id, { message: view, by: actor.id });
  const stored = await ctx.messages.update(m._id, ['VISIBLE', 'HIDDEN'], { status: 'DELETED', body: '' }, event);
  if (!stored) return { message: view }; // deleted meanwhile by someone else: same outcome
  const out = toMessageView(stored, author);
  await ctx.publish(m.room, { kind: 'message.updated', message: out });
  await publishRootOf(ctx, stored);
  return { message: out };
};

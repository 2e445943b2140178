import { forbidden, notFound, type CommandOf, type CommandValue, type ModerationAction, type UserView } from '@conversa/contracts';
import { toMessageView } from '@conversa/store';
import { adminOf, authorOf, messageToChange, type CommandContext, type CommandHandler } from './context.js';

/** An admin's decision as a moderation action (no rule). */
function adminAction(
  ctx: CommandContext,
  admin: UserView,
  a: Pick<ModerationAction, 'kind' | 'target' | 'room' | 'reason'>,
  at: Date = ctx.now(),
  until: Date | null = null,
): ModerationAction {
  return { ...a, id: ctx.newId(), rule: null, by: admin.id, at: at.toISOString(), until: until ? until.toISOString() : null };
}

/** Hides or unhides a message (one handler for both command types). */
export async function hideOrUnhide(c: CommandOf<'message.hide'> | CommandOf<'message.unhide'>, ctx: CommandContext): Promise<CommandValue<'message.hide'>> {
  const admin = await adminOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  const hide = c.type === 'message.hide';
  if (m.status === 'DELETED') throw forbidden(`id: a deleted message cannot be ${hide ? 'hidden' : 'unhidden'}`);
  const reason = c.type === 'message.hide' ? c.reason : 'unhidden by an admin';
  const done = await ctx.moderation.apply(adminAction(ctx, admin, { kind: hide ? 'hide' : 'unhide', target: m._id, room: m.room, reason }));
  const after = done.message ?? m;
  return { message: toMessageView(after, await authorOf(ctx, after.authorId)) };
}

export const mute: CommandHandler<'user.mute'> = async (c, ctx) => {
  const admin = await adminOf(ctx, c.actor);
  if (!(await ctx.users.findById(c.user))) throw notFound(`userId: no user "${c.user}"`);
  if (c.room !== null && !(await ctx.rooms.findById(c.room))) throw notFound(`room: no room "${c.room}"`);
  const at = ctx.now();
  const until = new Date(at.getTime() + Math.max(1, Math.round(c.minutes * 60_000)));
  const { action } = await ctx.moderation.apply(adminAction(ctx, admin, { kind: 'mute', target: c.user, room: c.room, reason: c.reason }, at, until));
  return { action };
};

export const unmute: CommandHandler<'user.unmute'> = async (c, ctx) => {
  const admin = await adminOf(ctx, c.actor);
  if (!(await ctx.users.findById(c.user))) throw notFound(`userId: no user "${c.user}"`);
  const { action } = await ctx.moderation.apply(adminAction(ctx, admin, { kind: 'unmute', target: c.user, room: null, reason: 'unmuted by an admin' }));
  return { action };
};

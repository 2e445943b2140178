import { badInput, conflict, notFound, type UserView } from '@conversa/contracts';
import { DuplicateKeyError, toUserView } from '@conversa/store';
import { actorOf, type CommandHandler } from './context.js';

export const register: CommandHandler<'user.register'> = async (c, ctx) => {
  const id = ctx.newId();
  const view: UserView = { id, username: c.username.toLowerCase(), displayName: c.displayName, role: c.role };
  const outbox = [ctx.makeEvent('user.registered', id, id, { user: view })];
  try {
    await ctx.users.create({
      _id: id,
      username: view.username,
      displayName: c.displayName,
      role: c.role,
      passwordHash: c.passwordHash,
      createdAt: ctx.now(),
      outbox,
    });
  } catch (e) {
    if (!(e instanceof DuplicateKeyError)) throw e;
    // A retried job (its first run stored the user, then died) finds its own hash: same user.
    const existing = await ctx.users.findByUsername(view.username);
    if (existing?.passwordHash === c.passwordHash) return { user: toUserView(existing) };
    throw conflict(`username: "${view.username}" is taken`);
  }
  return { user: view };
};

export const rename: CommandHandler<'user.rename'> = async (c, ctx) => {
  const before = await actorOf(ctx, c.actor);
  const displayName = c.displayName.normalize('NFC').trim();
  if (displayName.length === 0) throw badInput('displayName: cannot be blank', { field: 'displayName' });
  const after = { ...before, displayName };
  const event = ctx.makeEvent('user.renamed', before.id, before.id, { user: after, previousDisplayName: before.displayName });
  const stored = await ctx.users.rename(before.id, displayName, event);
  if (!stored) throw notFound('user: no such user');
  return { user: toUserView(stored) };
};

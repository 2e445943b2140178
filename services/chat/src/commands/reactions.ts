import { LIMITS, badInput, conflict, forbidden, parseReaction } from '@conversa/contracts';
import { toMessageView, type MessageDoc } from '@conversa/store';
import { assertCanSend, assertNotMuted } from '../rules.js';
import { actorOf, authorOf, messageToChange, type CommandContext, type CommandHandler } from './context.js';

/** The emoji as stored, or BAD_USER_INPUT naming what is wrong with it. */
function emojiOf(input: string): string {
  const r = parseReaction(input);
  if (!r.ok) throw badInput(r.error);
  return r.emoji;
}

/**
 * Reacting is posting a little: the person must be able to post in the room (a member, not
 * muted, not blocked by the peer of a direct room). Taking a reaction back needs only
 * membership (`posting: false`).
 */
async function assertMayReact(ctx: CommandContext, m: MessageDoc, actor: string, posting: boolean): Promise<void> {
  const [room, member, mutes] = await Promise.all([ctx.reads.room(m.room), ctx.reads.isMember(m.room, actor), posting ? ctx.reads.mutes(actor, m.room) : []]);
  if (!room) throw forbidden('id: the message\'s room no longer exists');
  assertCanSend(room, actor, room.kind !== 'DIRECT' && member);
  if (!posting) return;
  assertNotMuted(mutes, ctx.now());
  if (room.kind === 'DIRECT') {
    const peer = room.pair.find((id) => id !== actor);
    if (peer !== undefined && (await ctx.blocks.blocks(peer, actor))) throw forbidden('room: not allowed');
  }
}

/** The message after the reaction's recount (which also showed it to the room). */
async function answer(ctx: CommandContext, m: MessageDoc, changed: boolean) {
  const after = (await ctx.recounts.reactions(m._id)) ?? m;
  return { message: toMessageView(after, await authorOf(ctx, after.authorId)), changed };
}

/**
 * Idempotent per (person, message, emoji): the row's primary key makes a repeat or a
 * concurrent duplicate a no-op (`changed: false`, no event). Every call recounts, so a retry
 * after a crash between the row and the recount repairs the summary.
 */
export const react: CommandHandler<'message.react'> = async (c, ctx) => {
  const emoji = emojiOf(c.emoji);
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  await assertMayReact(ctx, m, actor.id, true);
  if (m.status !== 'VISIBLE') throw badInput(`id: the message is ${m.status.toLowerCase()}; only a visible message takes reactions`);
  const event = ctx.makeEvent('message.reacted', m.room, actor.id, { room: m.room, message: m._id, emoji, user: actor.id });
  const added = await ctx.reactions.addLimited({ message: m._id, room: m.room, emoji, user: actor.id, at: ctx.now() }, event, {
    max: LIMITS.reactionEmojiMax,
    shown: (m.reactions ?? []).map((r) => r.emoji),
  });
  if (added === 'full') throw conflict(`emoji: the message has ${LIMITS.reactionEmojiMax} different emoji already; react with one of them`);
  return answer(ctx, m, added);
};

export const unreact: CommandHandler<'message.unreact'> = async (c, ctx) => {
  const emoji = emojiOf(c.emoji);
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  await assertMayReact(ctx, m, actor.id, false);
  const event = ctx.makeEvent('message.unreacted', m.room, actor.id, { room: m.room, message: m._id, emoji, user: actor.id });
  const removed = await ctx.reactions.remove({ message: m._id, emoji, user: actor.id }, event);
  return answer(ctx, m, removed);
};

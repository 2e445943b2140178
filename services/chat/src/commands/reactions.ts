import { LIMITS, badInput, conflict, forbidden, parseReaction } from '@conversa/contracts';
import { toMessageView, type MessageDoc, type ReactionOp } from '@conversa/store';
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

/**
 * Reacting and taking it back go through this process's batch for the message (one lock, one
 * read and one summary write per batch however many reactions it holds). Idempotent per
 * (person, message, emoji): a repeat or a concurrent duplicate is `changed: false` and writes no
 * event; a repeat also recounts, which repairs a summary a crash left behind its rows.
 */
async function change(ctx: CommandContext, m: MessageDoc, op: ReactionOp) {
  const { outcome, message } = await ctx.reactions.apply(m._id, op);
  if (outcome === 'full') throw conflict(`emoji: the message has ${LIMITS.reactionEmojiMax} different emoji already; react with one of them`);
  const after = message ?? m;
  return { message: toMessageView(after, await authorOf(ctx, after.authorId)), changed: outcome === 'changed' };
}

export const react: CommandHandler<'message.react'> = async (c, ctx) => {
  const emoji = emojiOf(c.emoji);
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  await assertMayReact(ctx, m, actor.id, true);
  if (m.status !== 'VISIBLE') throw badInput(`id: the message is ${m.status.toLowerCase()}; only a visible message takes reactions`);
  const event = ctx.makeEvent('message.reacted', m.room, actor.id, { room: m.room, message: m._id, emoji, user: actor.id });
  return change(ctx, m, { kind: 'add', emoji, user: actor.id, room: m.room, event });
};

export const unreact: CommandHandler<'message.unreact'> = async (c, ctx) => {
  const emoji = emojiOf(c.emoji);
  const actor = await actorOf(ctx, c.actor);
  const m = await messageToChange(ctx, c.id);
  await assertMayReact(ctx, m, actor.id, false);
  const event = ctx.makeEvent('message.unreacted', m.room, actor.id, { room: m.room, message: m._id, emoji, user: actor.id });
  return change(ctx, m, { kind: 'remove', emoji, user: actor.id, event });
};

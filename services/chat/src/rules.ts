import { forbidden, type Role } from '@conversa/contracts';
import type { MessageDoc, RoomDoc } from '@conversa/store';

/** Who may do what: pure rules, unit-tested without a database. */

export interface Actor {
  id: string;
  role: Role;
}

export { canReadRoom } from '@conversa/contracts';

/** Sending needs membership: the pair of a private room, being a group's member, or having joined a public one. */
export function assertCanSend(room: Pick<RoomDoc, '_id' | 'kind' | 'pair'>, userId: string, joined: boolean): void {
  if (room.kind === 'DIRECT') {
    if (!room.pair.includes(userId)) throw forbidden('room: you are not a member of this private room');
    return;
  }
  if (room.kind === 'GROUP') {
    if (!joined) throw forbidden('room: you are not a member of this group');
    return;
  }
  if (!joined) throw forbidden(`room: join "${room._id}" before sending to it`);
}

/** Only the author edits, and never a deleted or hidden message. */
export function assertCanEdit(m: Pick<MessageDoc, 'authorId' | 'status'>, actor: Actor): void {
  if (m.authorId !== actor.id) throw forbidden('id: only the author may edit a message');
  if (m.status === 'DELETED') throw forbidden('id: a deleted message cannot be edited');
  if (m.status === 'HIDDEN') throw forbidden('id: a hidden message cannot be edited');
}

/** The author or an admin deletes. */
export function assertCanDelete(m: Pick<MessageDoc, 'authorId'>, actor: Actor): void {
  if (m.authorId !== actor.id && actor.role !== 'ADMIN') {
    throw forbidden('id: only the author or an admin may delete a message');
  }
}

/** Moderation commands are for admins; the gateway checks too, this is the writer's own check. */
export function assertAdmin(actor: Actor): void {
  if (actor.role !== 'ADMIN') throw forbidden('only an admin may moderate');
}

/** The id of a user's mute in a room, or everywhere (room null). */
export function muteId(user: string, room: string | null): string {
  return `${user}/${room ?? '*'}`;
}

/** A stored mute, as far as these rules need it. */
export interface MuteState {
  room: string | null;
  until: Date | null;
  reason: string;
}

/** Whether a mute is in force at `now`: an expired mute never blocks, even before its timer lifted it. */
export function isMuteActive(m: Pick<MuteState, 'until'>, now: Date): boolean {
  return m.until === null || m.until.getTime() > now.getTime();
}

/** Refuses a send while a mute of the room or everywhere is in force, saying until when (ISO time) and why. */
export function assertNotMuted(mutes: readonly MuteState[], now: Date): void {
  const active = mutes.filter((m) => isMuteActive(m, now));
  if (active.length === 0) return;
  // The one that lasts longest is the one that matters to the person.
  const m = active.reduce((a, b) => (a.until === null ? a : b.until === null ? b : a.until >= b.until ? a : b));
  const where = m.room === null ? 'everywhere' : 'in this room';
  const until = m.until === null ? 'until an admin lifts it' : `until ${m.until.toISOString()}`;
  throw forbidden(`you are muted ${where} ${until}: ${m.reason}`);
}

/**
 * Whether a new mute replaces the one in force for the same scope. An admin's decision always
 * does (they may shorten a mute); a rule's mute only when it lasts longer, so a burst of rule
 * actions never cuts short a longer mute or a ban.
 */
export function replacesMute(
  current: Pick<MuteState, 'until'> | null,
  incoming: { until: Date | null; by: string | null },
  now: Date,
): boolean {
  if (!current || !isMuteActive(current, now)) return true;
  if (incoming.by !== null || incoming.until === null) return true;
  if (current.until === null) return false;
  return incoming.until.getTime() > current.until.getTime();
}

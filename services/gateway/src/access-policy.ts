import type { MuteDoc, Store } from '@conversa/store';
import type { AccessPolicy } from './sockets.js';

/** A mute is in force until its end; a mute without one (a ban) until an admin lifts it. */
export function muteInForce(m: Pick<MuteDoc, 'until'>, now: Date): boolean {
  return m.until === null || m.until.getTime() > now.getTime();
}

/**
 * What the `mutes` collection (written by chat's moderation) says a user may read live: a mute
 * in the room or everywhere refuses the room's subscriptions; a ban (a mute everywhere without
 * an end) refuses the user's sockets.
 */
export function storeAccessPolicy(store: Pick<Store, 'mutesFor' | 'findMute'>, now: () => Date = () => new Date()): AccessPolicy {
  return {
    async refusal(user, room) {
      const mutes = (await store.mutesFor(user, room)).filter((m) => muteInForce(m, now()));
      if (mutes.length === 0) return null;
      return mutes.some((m) => m.room === null && m.until === null) ? 'banned' : 'muted';
    },
    async banned(user) {
      const m = await store.findMute(`${user}/*`);
      return m !== null && m.room === null && m.until === null;
    },
  };
}

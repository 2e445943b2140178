import { LRUCache } from 'lru-cache';
import type { AccessSignal } from '@conversa/contracts';
import type { ModerationRepository, MuteDoc } from '@conversa/store';
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
export function storeAccessPolicy(store: Pick<ModerationRepository, 'mutesFor' | 'findMute'>, now: () => Date = () => new Date()): AccessPolicy {
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

/**
 * The access policy with its "nothing refuses this" answers cached (a socket's ban check, a
 * subscribe's mute check: the common answer, asked by every socket of a reconnect storm).
 * Refusals are never cached, so a lifted mute is seen at once. A new mute or ban reaches the
 * gateways as an access signal (chat publishes it after storing it): `revoked` evicts that
 * user's entries, and a read in flight meanwhile is not kept. `clear` after the signal
 * subscription reconnected (signals may have been missed); `ttlMs` bounds the rest.
 */
export class CachedAccessPolicy implements AccessPolicy {
  private generation = 0;
  private readonly allowed: LRUCache<string, true>;

  constructor(
    private readonly source: AccessPolicy,
    opts: { ttlMs: number; max?: number },
  ) {
    this.allowed = new LRUCache({ max: opts.max ?? 100_000, ttl: opts.ttlMs });
  }

  async refusal(user: string, room: string): Promise<AccessSignal['reason'] | null> {
    const key = `${user}/${room}`;
    if (this.allowed.get(key)) return null;
    const generation = this.generation;
    const r = await this.source.refusal(user, room);
    if (r === null && generation === this.generation) this.allowed.set(key, true);
    return r;
  }

  async banned(user: string): Promise<boolean> {
    const key = `${user}/*ban`;
    if (this.allowed.get(key)) return false;
    const generation = this.generation;
    const r = await this.source.banned(user);
    if (!r && generation === this.generation) this.allowed.set(key, true);
    return r;
  }

  /** A user's access shrank (an access signal): forget what allowed it. */
  revoked(user: string): void {
    this.generation++;
    const prefix = `${user}/`;
    for (const k of [...this.allowed.keys()]) if (k.startsWith(prefix)) this.allowed.delete(k);
  }

  clear(): void {
    this.generation++;
    this.allowed.clear();
  }
}

import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { MuteDoc, RoomDoc, Store, StoreChange, UserDoc } from '@conversa/store';

/** What a send reads before it writes (see commands/send.ts). */
export interface SendReads {
  user(id: string): Promise<UserDoc | null>;
  room(id: string): Promise<RoomDoc | null>;
  isMember(room: string, user: string): Promise<boolean>;
  mutes(user: string, room: string): Promise<MuteDoc[]>;
}

/** Straight from the database. */
export const storeReads = (store: Pick<Store, 'users' | 'rooms' | 'moderation'>): SendReads => ({
  user: (id) => store.users.findById(id),
  room: (id) => store.rooms.findById(id),
  isMember: (room, user) => store.rooms.isMember(room, user),
  mutes: (user, room) => store.moderation.mutesFor(user, room),
});

export interface ReadCacheOptions {
  /** How long an entry is trusted without hearing of a change, ms: the bound on staleness if a change notice is lost. */
  ttlMs: number;
  max?: number;
}

/**
 * The reads of a send, cached per chat process: the user, the room, a positive membership and
 * a user's mutes in a room. Four database reads per message become none while nothing changes.
 *
 * Correctness rests on eviction, not on the TTL: every write that changes one of these goes
 * through the Store, which reports it (StoreOptions.onWrite); the process that wrote evicts at
 * once and tells the others on Redis (`Names.chatCacheChannel`). A read that was in flight
 * while any eviction happened is not cached (a generation counter), so a stale value read
 * just before a change cannot outlive the notice. If notices may have been missed (the Redis
 * subscription reconnected), everything is dropped; the TTL bounds the rest.
 * Absences are not cached: a new user, room or membership is seen at once.
 */
export class ReadCache implements SendReads {
  private generation = 0;
  private readonly entries: LRUCache<string, UserDoc | RoomDoc | MuteDoc[] | true>;
  hits = 0;
  misses = 0;

  constructor(
    private readonly source: SendReads,
    opts: ReadCacheOptions,
  ) {
    this.entries = new LRUCache({ max: opts.max ?? 50_000, ttl: opts.ttlMs });
  }

  user(id: string): Promise<UserDoc | null> {
    return this.read(`u:${id}`, () => this.source.user(id));
  }

  room(id: string): Promise<RoomDoc | null> {
    return this.read(`r:${id}`, () => this.source.room(id));
  }

  async isMember(room: string, user: string): Promise<boolean> {
    return (await this.read(`m:${room}/${user}`, async () => ((await this.source.isMember(room, user)) ? true : null))) === true;
  }

  mutes(user: string, room: string): Promise<MuteDoc[]> {
    return this.read(`x:${user}/${room}`, () => this.source.mutes(user, room)) as Promise<MuteDoc[]>;
  }

  /** A write changed this (here or in another process). */
  evict(change: StoreChange): void {
    this.generation++;
    if (change.kind === 'user') this.entries.delete(`u:${change.key}`);
    else if (change.kind === 'room') this.entries.delete(`r:${change.key}`);
    else if (change.kind === 'membership') this.entries.delete(`m:${change.key}`);
    else {
      const prefix = `x:${change.key}/`;
      for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
    }
  }

  /** Change notices may have been missed: trust nothing cached. */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private async read<T extends UserDoc | RoomDoc | MuteDoc[] | true>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit as T;
    }
    this.misses++;
    const generation = this.generation;
    const value = await load();
    if (value !== null && generation === this.generation) this.entries.set(key, value);
    return value;
  }
}

const StoreChangeNotice = z.object({ kind: z.enum(['user', 'room', 'membership', 'mutes']), key: z.string().min(1) });

/** Parses a change notice from the cache channel; null for anything else. */
export function parseStoreChange(raw: string): StoreChange | null {
  try {
    const r = StoreChangeNotice.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null; // not JSON
  }
}

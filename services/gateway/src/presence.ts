import { randomUUID } from 'node:crypto';
import type { RoomSignal, UserView } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';
import { GLOBAL_SCOPE, type PresenceStore } from './adapters/presence.js';

export interface PresenceOptions {
  store: PresenceStore;
  /** Publishes a presence signal on a room's channel. */
  publish: (room: string, signal: RoomSignal) => Promise<void>;
  /** Looks users up for offline notices of connections that expired elsewhere. */
  users: (ids: string[]) => Promise<UserView[]>;
  logger: Logger;
  /** How long a connection counts as live without a heartbeat, ms (30 s). */
  ttlMs: number;
  /** Heartbeat and reaper period, ms (10 s). */
  heartbeatMs: number;
}

/** One socket's presence: it is online globally, and in each room it holds a subscription to. */
export interface PresenceConnection {
  readonly id: string;
  readonly user: UserView;
  /** Counts one more subscription to the room; the first one enters the room. */
  enterRoom(room: string): Promise<void>;
  /** Counts one less; the last one leaves the room. */
  leaveRoom(room: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Tracks this gateway's connections in the shared presence store and tells rooms when someone
 * comes or goes. A person with two tabs has two connections: online until the last one closes.
 */
/**
 * One connection: the PresenceConnection handed out and the entry kept, as one object (its
 * room counts only once it enters a room): tens of thousands of idle sockets each hold one.
 */
class Connection implements PresenceConnection {
  rooms: Map<string, number> | undefined = undefined;

  constructor(
    readonly id: string,
    readonly user: UserView,
    private readonly presence: Presence,
  ) {}

  enterRoom(room: string): Promise<void> {
    return this.presence.enterRoom(this.id, room);
  }

  leaveRoom(room: string): Promise<void> {
    return this.presence.leaveRoom(this.id, room);
  }

  close(): Promise<void> {
    return this.presence.closeConnection(this.id);
  }

  roomIds(): IterableIterator<string> | readonly string[] {
    return this.rooms?.keys() ?? [];
  }
}

export class Presence {
  private readonly live = new Map<string, Connection>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PresenceOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.heartbeatMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.live.keys()].map((id) => this.closeConnection(id)));
  }

  private expiry(): number {
    return Date.now() + this.opts.ttlMs;
  }

  async connect(user: UserView): Promise<PresenceConnection> {
    const c = new Connection(randomUUID(), user, this);
    this.live.set(c.id, c);
    await this.opts.store.enter(GLOBAL_SCOPE, user.id, c.id, this.expiry());
    return c;
  }

  /** @internal (Connection's) */
  async enterRoom(conn: string, room: string): Promise<void> {
    const c = this.live.get(conn);
    if (!c) return;
    const rooms = (c.rooms ??= new Map<string, number>());
    const n = rooms.get(room) ?? 0;
    rooms.set(room, n + 1);
    if (n > 0) return;
    if (await this.opts.store.enter(room, c.user.id, conn, this.expiry())) {
      await this.announce(room, c.user, true);
    }
  }

  /** @internal (Connection's) */
  async leaveRoom(conn: string, room: string): Promise<void> {
    const c = this.live.get(conn);
    const rooms = c?.rooms;
    if (!c || !rooms?.has(room)) return;
    const n = (rooms.get(room) ?? 0) - 1;
    if (n > 0) {
      rooms.set(room, n);
      return;
    }
    rooms.delete(room);
    if (rooms.size === 0) c.rooms = undefined;
    if (await this.opts.store.leave(room, c.user.id, conn, Date.now())) await this.announce(room, c.user, false);
  }

  /** @internal (Connection's) */
  async closeConnection(conn: string): Promise<void> {
    const c = this.live.get(conn);
    if (!c) return;
    this.live.delete(conn);
    const now = Date.now();
    await Promise.all(
      [...c.roomIds()].map(async (room) => {
        if (await this.opts.store.leave(room, c.user.id, conn, now)) await this.announce(room, c.user, false);
      }),
    );
    await this.opts.store.leave(GLOBAL_SCOPE, c.user.id, conn, now);
  }

  private async announce(room: string, user: UserView, online: boolean): Promise<void> {
    try {
      await this.opts.publish(room, { kind: 'presence', user, online });
    } catch (e) {
      this.opts.logger.warn({ err: e, room }, 'presence signal not published');
    }
  }

  /** Heartbeat for this gateway's connections, then reap what expired anywhere. */
  async tick(): Promise<void> {
    try {
      const entries: { scope: string; user: string; conn: string }[] = [];
      for (const [conn, c] of this.live) {
        entries.push({ scope: GLOBAL_SCOPE, user: c.user.id, conn });
        for (const room of c.roomIds()) entries.push({ scope: room, user: c.user.id, conn });
      }
      await this.opts.store.heartbeat(entries, this.expiry());
      const gone = (await this.opts.store.reap(Date.now())).filter((g) => g.scope !== GLOBAL_SCOPE);
      if (gone.length === 0) return;
      const users = new Map((await this.opts.users([...new Set(gone.map((g) => g.user))])).map((u) => [u.id, u]));
      for (const g of gone) {
        const u = users.get(g.user);
        if (u) await this.announce(g.scope, u, false);
      }
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'presence heartbeat failed');
    }
  }

  /**
   * Writes this gateway's connections again (after Redis lost its data, e.g. a restart without
   * persistence): heartbeats only extend existing entries, so they would not bring them back.
   */
  async restore(): Promise<void> {
    const exp = this.expiry();
    try {
      for (const [conn, c] of this.live) {
        await this.opts.store.enter(GLOBAL_SCOPE, c.user.id, conn, exp);
        for (const room of c.roomIds()) await this.opts.store.enter(room, c.user.id, conn, exp);
      }
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'presence restore failed; the next reconnect tries again');
    }
  }

  isOnline(users: string[]): Promise<Set<string>> {
    return this.opts.store.onlineAmong(GLOBAL_SCOPE, users, Date.now());
  }

  onlineUsers(): Promise<string[]> {
    return this.opts.store.online(GLOBAL_SCOPE, Date.now());
  }

  inRoom(room: string): Promise<string[]> {
    return this.opts.store.online(room, Date.now());
  }
}

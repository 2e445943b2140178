import { randomUUID } from 'node:crypto';
import type { GatewayEntries } from './liveness.js';
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

/**
 * Tracks this gateway's connections and tells rooms when someone comes or goes. Redis holds one
 * entry per user, scope and gateway (adapters/presence.ts), with no expiry of its own: this
 * gateway counts the user's connections in each scope here, enters the user when the first one
 * arrives and leaves when the last one goes (a person with two tabs on two gateways stays online
until the last closes). Liveness is the gateway's (liveness.ts): when its
 * key expires, its users drop out everywhere, and another gateway's reaper reports them offline.
 */
export class Presence implements GatewayEntries {
  private readonly live = new Map<string, Connection>();
  /** This gateway's connections per scope and user (GLOBAL_SCOPE included). */
  private readonly held = new Map<string, Map<string, number>>();

  constructor(private readonly opts: PresenceOptions) {}

  async stop(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.closeConnection(id)));
  }

  /** Counts one more connection of `user` in `scope`; true when it is this gateway's first. */
  private hold(scope: string, user: string): boolean {
    let users = this.held.get(scope);
    if (!users) this.held.set(scope, (users = new Map<string, number>()));
    const n = users.get(user) ?? 0;
    users.set(user, n + 1);
    return n === 0;
  }

  /** Counts one less; true when it was this gateway's last. */
  private unhold(scope: string, user: string): boolean {
    const users = this.held.get(scope);
    const n = users?.get(user);
    if (!users || n === undefined) return false;
    if (n > 1) {
      users.set(user, n - 1);
      return false;
    }
    users.delete(user);
    if (users.size === 0) this.held.delete(scope);
    return true;
  }

  async connect(user: UserView): Promise<PresenceConnection> {
    const c = new Connection(randomUUID(), user, this);
    this.live.set(c.id, c);
    if (this.hold(GLOBAL_SCOPE, user.id)) await this.opts.store.enter(GLOBAL_SCOPE, user.id);
    return c;
  }

  /** @internal (Connection's) */
  async enterRoom(conn: string, room: string): Promise<void> {
    const c = this.live.get(conn);
    if (!c) return;
    const rooms = (c.rooms ??= new Map<string, number>());
    const n = rooms.get(room) ?? 0;
    rooms.set(room, n + 1);
    if (n > 0 || !this.hold(room, c.user.id)) return;
    if (await this.opts.store.enter(room, c.user.id)) await this.announce(room, c.user, true);
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
    await this.release(room, c.user);
  }

  private async release(scope: string, user: UserView): Promise<void> {
    if (!this.unhold(scope, user.id)) return;
    if ((await this.opts.store.leave(scope, user.id)) && scope !== GLOBAL_SCOPE) await this.announce(scope, user, false);
  }

  /** @internal (Connection's) */
  async closeConnection(conn: string): Promise<void> {
    const c = this.live.get(conn);
    if (!c) return;
    this.live.delete(conn);
    const rooms = [...c.roomIds()];
    c.rooms = undefined;
    await Promise.all(rooms.map((room) => this.release(room, c.user)));
    await this.release(GLOBAL_SCOPE, c.user);
  }

  private async announce(room: string, user: UserView, online: boolean): Promise<void> {
    try {
      await this.opts.publish(room, { kind: 'presence', user, online });
    } catch (e) {
      this.opts.logger.warn({ err: e, room }, 'presence signal not published');
    }
  }

  /** Removes a dead gateway's entries and tells its rooms who went offline (liveness.ts calls it). */
  async reapGateway(gatewayId: string): Promise<void> {
    const gone = (await this.opts.store.reapGateway(gatewayId)).filter((g) => g.scope !== GLOBAL_SCOPE);
    if (gone.length === 0) return;
    const users = new Map((await this.opts.users([...new Set(gone.map((g) => g.user))])).map((u) => [u.id, u]));
    for (const g of gone) {
      const u = users.get(g.user);
      if (u) await this.announce(g.scope, u, false);
    }
  }

  /**
   * Writes this gateway's entries again: after its liveness key lapsed (other gateways may
   * have reaped them) or Redis lost its data (a restart without persistence).
   */
  async restore(): Promise<void> {
    for (const [scope, users] of [...this.held]) await this.opts.store.restore(scope, [...users.keys()]);
  }

  isOnline(users: string[]): Promise<Set<string>> {
    return this.opts.store.onlineAmong(GLOBAL_SCOPE, users);
  }

  onlineUsers(): Promise<string[]> {
    return this.opts.store.online(GLOBAL_SCOPE);
  }

  inRoom(room: string): Promise<string[]> {
    return this.opts.store.online(room);
  }
}

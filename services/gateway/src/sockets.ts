import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode, type AccessSignal } from '@conversa/contracts';
import type { GatewayEntries } from './liveness.js';
import { CloseCode } from './ws-protocol.js';

/**
 * The authenticated WebSockets of one gateway process, by user: caps their number per user
 * and their live operations per socket, and ends what a user may no longer read the moment
 * their authority shrinks (a mute in a room, a ban, removal from a private room). Pure: the
 * socket itself is behind {@link SocketHandle}.
 */

export interface SocketHandle {
  close(code: number, reason: string): void;
  /** Ends one live operation with an error message to the client (no `complete` follows). */
  end(id: string, error: AppError): Promise<void>;
  /** True while the operation `id` still runs on this socket. */
  isLive(id: string): boolean;
}

export interface SocketLimits {
  maxSocketsPerUser: number;
  maxOperationsPerSocket: number;
}

/** One authenticated socket: its live operations and the room each one reads (null: none). */
export class SocketEntry {
  /** Created at its first operation: an idle socket holds no Map. */
  private ops: Map<string, string | null> | undefined = undefined;

  /** Its live operations, by id: the room each reads (null: none). */
  get operations(): ReadonlyMap<string, string | null> {
    return this.ops ?? EMPTY;
  }

  constructor(
    readonly user: string,
    readonly handle: SocketHandle,
    private readonly maxOperations: number,
  ) {}

  /**
   * Reserves a slot for operation `id`; false when the socket is at its cap. Finished
   * operations are pruned first (not every way one can end is reported here).
   */
  tryStart(id: string, room: string | null = null): boolean {
    const ops = (this.ops ??= new Map<string, string | null>());
    if (ops.size >= this.maxOperations) {
      for (const op of ops.keys()) if (!this.handle.isLive(op)) ops.delete(op);
    }
    if (ops.size >= this.maxOperations) return false;
    ops.set(id, room);
    return true;
  }

  /** Records the room a started operation reads (known once its document is parsed). */
  setRoom(id: string, room: string | null): void {
    if (this.ops?.has(id)) this.ops.set(id, room);
  }

  finish(id: string): void {
    this.ops?.delete(id);
    if (this.ops?.size === 0) this.ops = undefined;
  }
}

/** Decides, when a socket connects or subscribes, what a user may read live now. */
export interface AccessPolicy {
  /** Why the user may not read the room live (a mute there or everywhere, a ban), or null. */
  refusal(user: string, room: string): Promise<AccessSignal['reason'] | null>;
  /** True when the account is banned: its sockets are refused. */
  banned(user: string): Promise<boolean>;
}

export const REVOKED: Record<AccessSignal['reason'], string> = {
  muted: 'you are muted in this room',
  banned: 'your account is banned',
  removed: 'you are no longer a member of this room',
};

const EMPTY: ReadonlyMap<string, string | null> = new Map();

export class SocketRegistry {
  private readonly byUser = new Map<string, Set<SocketEntry>>();

  constructor(private readonly limits: SocketLimits) {}

  /** Registers an authenticated socket; null when the user already holds the maximum here. */
  open(user: string, handle: SocketHandle): SocketEntry | null {
    const set = this.byUser.get(user) ?? new Set<SocketEntry>();
    if (set.size >= this.limits.maxSocketsPerUser) return null;
    const entry = new SocketEntry(user, handle, this.limits.maxOperationsPerSocket);
    set.add(entry);
    this.byUser.set(user, set);
    return entry;
  }

  close(entry: SocketEntry): void {
    const set = this.byUser.get(entry.user);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.byUser.delete(entry.user);
  }

  socketsOf(user: string): number {
    return this.byUser.get(user)?.size ?? 0;
  }

  /**
   * Applies a revocation: a ban closes every socket of the user (4403); otherwise each live
   * operation reading the room (any room when `room` is null) ends with FORBIDDEN. Returns how
   * many operations or sockets it ended.
   */
  async revoke(signal: AccessSignal): Promise<number> {
    const set = this.byUser.get(signal.user);
    if (!set) return 0;
    if (signal.reason === 'banned') {
      for (const entry of set) entry.handle.close(CloseCode.Forbidden, 'Forbidden: banned');
      return set.size;
    }
    const ended: Promise<void>[] = [];
    for (const entry of set) {
      for (const [id, room] of [...entry.operations]) {
        if (room === null || (signal.room !== null && room !== signal.room)) continue;
        entry.finish(id);
        ended.push(entry.handle.end(id, new AppError(ErrorCode.FORBIDDEN, `${room}: ${REVOKED[signal.reason]}`)));
      }
    }
    await Promise.all(ended);
    return ended.length;
  }
}

/**
 * Sockets per user across every gateway, in Redis (adapters/socket-count.ts): one entry per
 * socket naming the gateway that holds it, and no expiry per entry. A socket counts while its
 * gateway is alive (liveness.ts: one key per gateway with a TTL); a gateway that dies stops
 * refreshing that key, so its sockets drop out of every count once it expires.
 */
export interface SocketCountStore {
  /**
   * Adds `socket` (held by this gateway) to `user`'s sockets unless they already hold `max` on
   * live gateways (entries of dead ones do not count and are removed); true when added.
   */
  acquire(user: string, socket: string, max: number): Promise<boolean>;
  release(user: string, socket: string): Promise<void>;
  /** Writes these sockets of this gateway again (its liveness had lapsed: they may be gone). */
  restore(entries: readonly { user: string; socket: string }[]): Promise<void>;
  /** Removes the sockets of a dead gateway. */
  reapGateway(gatewayId: string): Promise<void>;
  /** Sockets of the user on live gateways. */
  count(user: string): Promise<number>;
}

export interface SocketQuotaOptions {
  store: SocketCountStore;
  /** Sockets one user may hold open across all gateways. */
  maxSocketsPerUser: number;
}

/**
 * This gateway's share of the cross-gateway count: its live sockets. Nothing periodic per
 * socket: liveness is the gateway's (GatewayLiveness calls restore and reapGateway).
 */
export class SocketQuota implements GatewayEntries {
  private readonly live = new Map<string, string>();
  private seq = 0;
  private readonly prefix = randomUUID();

  constructor(private readonly opts: SocketQuotaOptions) {}

  /** A slot for one more socket of `user`: its id, or null when the user holds the maximum. */
  async acquire(user: string): Promise<string | null> {
    const socket = `${this.prefix}:${++this.seq}`;
    if (!(await this.opts.store.acquire(user, socket, this.opts.maxSocketsPerUser))) return null;
    this.live.set(socket, user);
    return socket;
  }

  async release(socket: string): Promise<void> {
    const user = this.live.get(socket);
    if (user === undefined) return;
    this.live.delete(socket);
    await this.opts.store.release(user, socket);
  }

  /** Writes every live socket again (this gateway's liveness had lapsed). */
  async restore(): Promise<void> {
    await this.opts.store.restore([...this.live].map(([socket, user]) => ({ user, socket })));
  }

  reapGateway(gatewayId: string): Promise<void> {
    return this.opts.store.reapGateway(gatewayId);
  }

  /** Releases what is still live (a clean shutdown frees its slots at once). */
  async stop(): Promise<void> {
    await Promise.all([...this.live.keys()].map((s) => this.release(s)));
  }
}

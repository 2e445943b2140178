import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode, type AccessSignal } from '@conversa/contracts';
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
 * socket with an expiry that its gateway keeps pushing forward. A gateway that dies stops
 * pushing, so its sockets drop out of every count once their expiry passes.
 */
export interface SocketCountStore {
  /**
   * Adds `socket` to `user`'s live sockets unless they already hold `max` (entries expired by
   * `now` do not count and are removed); true when added. Epoch ms.
   */
  acquire(user: string, socket: string, max: number, expiresAt: number, now: number): Promise<boolean>;
  release(user: string, socket: string): Promise<void>;
  /** Pushes these live sockets' expiry forward (a released one is not brought back). */
  refresh(entries: readonly { user: string; socket: string }[], expiresAt: number): Promise<void>;
  /** Live sockets of the user at `now`. */
  count(user: string, now: number): Promise<number>;
}

export interface SocketQuotaOptions {
  store: SocketCountStore;
  /** Sockets one user may hold open across all gateways. */
  maxSocketsPerUser: number;
  /** How long a socket counts after its gateway's last refresh, ms (PRESENCE_TTL_MS: 30 s). */
  ttlMs: number;
  /** Refresh period, ms (PRESENCE_HEARTBEAT_MS: 10 s); well below ttlMs. */
  heartbeatMs: number;
  onError?: (e: unknown) => void;
  now?: () => number;
}

/** This gateway's share of the cross-gateway count: its live sockets, refreshed on a timer. */
export class SocketQuota {
  private readonly live = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly prefix = randomUUID();
  private readonly now: () => number;

  constructor(private readonly opts: SocketQuotaOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A slot for one more socket of `user`: its id, or null when the user holds the maximum. */
  async acquire(user: string): Promise<string | null> {
    const socket = `${this.prefix}:${++this.seq}`;
    const now = this.now();
    if (!(await this.opts.store.acquire(user, socket, this.opts.maxSocketsPerUser, now + this.opts.ttlMs, now))) return null;
    this.live.set(socket, user);
    return socket;
  }

  async release(socket: string): Promise<void> {
    const user = this.live.get(socket);
    if (user === undefined) return;
    this.live.delete(socket);
    await this.opts.store.release(user, socket);
  }

  /** Pushes every live socket's expiry forward once. */
  async refresh(): Promise<void> {
    const entries = [...this.live].map(([socket, user]) => ({ user, socket }));
    if (entries.length) await this.opts.store.refresh(entries, this.now() + this.opts.ttlMs);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.refresh().catch((e: unknown) => this.opts.onError?.(e));
    }, this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Stops refreshing and releases what is still live (a clean shutdown frees its slots at once). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.live.keys()].map((s) => this.release(s)));
  }
}

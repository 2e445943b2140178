import { AppError, ErrorCode, type AccessSignal } from '@conversa/contracts';

/**
 * The authenticated WebSockets of one gateway process, by user: caps their number per user
 * and their live operations per socket, and ends what a user may no longer read the moment
 * their authority shrinks (a mute in a room, a ban, removal from a private room). Pure: the
 * socket itself is behind {@link SocketHandle}.
 */

/** graphql-transport-ws close codes the gateway uses beyond graphql-ws' own. */
export const SocketCloseCode = {
  /** The user already holds the maximum of sockets on this gateway. */
  TooManyConnections: 4429,
  /** graphql-ws' Forbidden: the token expired, or the user was banned. */
  Forbidden: 4403,
  /** graphql-ws' BadRequest: e.g. connectionParams too large. */
  BadRequest: 4400,
} as const;

export interface SocketHandle {
  close(code: number, reason: string): void;
  /** Ends one live operation with an error message to the client (no `complete` follows). */
  end(id: string, error: AppError): Promise<void>;
  /** True while graphql-ws still runs the operation `id` on this socket. */
  isLive(id: string): boolean;
}

export interface SocketLimits {
  maxSocketsPerUser: number;
  maxOperationsPerSocket: number;
}

/** One authenticated socket: its live operations and the room each one reads (null: none). */
export class SocketEntry {
  readonly operations = new Map<string, string | null>();

  constructor(
    readonly user: string,
    readonly handle: SocketHandle,
    private readonly maxOperations: number,
  ) {}

  /**
   * Reserves a slot for operation `id`; false when the socket is at its cap. Finished
   * operations are pruned first (graphql-ws does not report every way one can end).
   */
  tryStart(id: string, room: string | null = null): boolean {
    if (this.operations.size >= this.maxOperations) {
      for (const op of this.operations.keys()) if (!this.handle.isLive(op)) this.operations.delete(op);
    }
    if (this.operations.size >= this.maxOperations) return false;
    this.operations.set(id, room);
    return true;
  }

  /** Records the room a started operation reads (known once its document is parsed). */
  setRoom(id: string, room: string | null): void {
    if (this.operations.has(id)) this.operations.set(id, room);
  }

  finish(id: string): void {
    this.operations.delete(id);
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
      for (const entry of set) entry.handle.close(SocketCloseCode.Forbidden, 'Forbidden: banned');
      return set.size;
    }
    const ended: Promise<void>[] = [];
    for (const entry of set) {
      for (const [id, room] of entry.operations) {
        if (room === null || (signal.room !== null && room !== signal.room)) continue;
        entry.operations.delete(id);
        ended.push(entry.handle.end(id, new AppError(ErrorCode.FORBIDDEN, `${room}: ${REVOKED[signal.reason]}`)));
      }
    }
    await Promise.all(ended);
    return ended.length;
  }
}

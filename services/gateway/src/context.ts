import { AppError, ErrorCode, canReadRoom, forbidden, notFound, type MessageView, type RoomSignal, type UserView } from '@conversa/contracts';
import { GHOST_USER, toMessageView, toUserView, type MessageDoc, type RoomDoc, type Store, type UserRepository } from '@conversa/store';
import type { Logger } from '@conversa/observability';
import type { CommandBus } from './adapters/commands.js';
import type { PasswordHasher, Principal, TokenService } from '@conversa/auth';
import type { RoomHubs } from './room-hub.js';
import type { InboxStreams } from './inbox-stream.js';
import type { Presence, PresenceConnection } from './presence.js';
import type { LoginGuard, RateLimiter, RoomSendLimiter } from './rate-limits.js';
import type { SlowModeCache } from './slow-mode.js';
import DataLoader from 'dataloader';
import { roomStates, type RoomState } from './read-state.js';
import type { SearchIndex } from '@conversa/search-index';

/** What every resolver gets: the caller (or why there is none) and the gateway's services. */
export interface GatewayContext {
  principal: Principal | null;
  /** The socket's presence, for subscriptions over WebSocket; null over HTTP. */
  connection: PresenceConnection | null;
  /** Closes the operation's WebSocket (slow consumers); absent over HTTP. */
  readonly closeSocket?: ((code: number, reason: string) => void) | undefined;
  /** Batches `User.online` look-ups of one request into one Redis call. */
  online: DataLoader<string, boolean>;
  /**
   * The caller's read state in rooms of one operation (counts, last message), by room id,
   * batched. Per person by construction: the loader belongs to one caller's context.
   */
  roomStates: DataLoader<string, RoomState>;
  /** Why `principal` is null when a token was sent but refused. */
  authError: AppError | null;
  /** The caller's address (per-address sign-in limits); 'unknown' when there is none. */
  address: string;
  services: GatewayServices;
}

/** The repositories the gateway reads; it writes nothing itself. */
export type GatewayReads = Pick<Store, 'users' | 'rooms' | 'messages' | 'audit' | 'moderation' | 'readState' | 'groups' | 'blocks' | 'reactions' | 'pins'>;

export interface GatewayServices {
  /** The reads of queries (commands go through `bus`). */
  store: GatewayReads;
  bus: CommandBus;
  tokens: TokenService;
  hasher: PasswordHasher;
  hubs: RoomHubs;
  /** Each person's one stream across their rooms (`Subscription.inbox`). */
  inbox: InboxStreams;
  presence: Presence;
  /** Publishes a signal that is not stored (typing) straight onto a room's channel. */
  publish: (room: string, signal: RoomSignal) => Promise<void>;
  /** True when the user may signal typing in the room now (at most once per window). */
  typingAllowed: (room: string, user: string) => Promise<boolean>;
  /** Messages that may wait for one subscriber before its socket is closed as too slow. */
  maxPendingPerSubscription: number;
  /** Per-user and per-address rate limits, shared by every gateway. */
  limits: RateLimiter;
  /** Each person's sends into each room: token bucket and slow mode, shared by every gateway. */
  roomSends: RoomSendLimiter;
  /** Each room's slow mode, seconds (cached). */
  slowModes: SlowModeCache;
  /**
   * Users by id; concurrent identical look-ups share one trip (a live event rendered per viewer
   * names the same reactors for every one of them). Default: the store.
   */
  usersByIds?: (ids: string[]) => Promise<UserView[]>;
  /** A room by id; concurrent identical reads share one trip (see coalesce.ts). Default: the store. */
  findRoom?: (id: string) => Promise<RoomDoc | null>;
  /** Growing lockouts after failed sign-ins. */
  logins: LoginGuard;
  /** The search index Query.search reads (absent: search answers UNAVAILABLE). */
  search?: Pick<SearchIndex, 'search'>;
  logger: Logger;
}

/**
 * One operation's context. `online` is made on first use: a subscription that lives for hours
 * on an idle socket never needs its DataLoader (and its caches and closures).
 */
class OperationContext implements GatewayContext {
  private loader: DataLoader<string, boolean> | undefined;
  private states: DataLoader<string, RoomState> | undefined;

  constructor(
    readonly services: GatewayServices,
    readonly principal: Principal | null,
    readonly authError: AppError | null,
    readonly connection: PresenceConnection | null,
    readonly address: string,
    readonly closeSocket: ((code: number, reason: string) => void) | undefined,
  ) {}

  get online(): DataLoader<string, boolean> {
    const presence = this.services.presence;
    this.loader ??= new DataLoader(async (ids: readonly string[]) => {
      const on = await presence.isOnline([...ids]);
      return ids.map((id) => on.has(id));
    });
    return this.loader;
  }

  get roomStates(): DataLoader<string, RoomState> {
    this.states ??= new DataLoader(async (ids: readonly string[]) => {
      const user = requireUser(this).id;
      return roomStates(this.services.store, user, ids.map((_id) => ({ _id, createdAt: new Date(0) })));
    });
    return this.states;
  }
}

/** A fresh context for one operation (HTTP request or WebSocket subscribe). */
export function makeContext(
  services: GatewayServices,
  principal: Principal | null,
  authError: AppError | null,
  connection: PresenceConnection | null,
  address = 'unknown',
  closeSocket?: (code: number, reason: string) => void,
): GatewayContext {
  return new OperationContext(services, principal, authError, connection, address, closeSocket);
}

export function requireUser(ctx: GatewayContext): Principal {
  if (ctx.principal) return ctx.principal;
  throw ctx.authError ?? new AppError(ErrorCode.UNAUTHENTICATED, 'sign in: send Authorization: Bearer <token>');
}

export function requireAdmin(ctx: GatewayContext): Principal {
  const p = requireUser(ctx);
  if (p.role !== 'ADMIN') throw forbidden('only an admin may do this');
  return p;
}

/**
 * The room if the caller may read it: NOT_FOUND when it does not exist, FORBIDDEN for others'
 * private rooms. A group's membership is read from the store every time (a point look-up, never
 * cached), so a member removed on any gateway is refused at once by every gateway.
 */
export async function readableRoom(ctx: GatewayContext, roomId: string): Promise<RoomDoc> {
  const p = requireUser(ctx);
  const room = await (ctx.services.findRoom ?? ((id: string) => ctx.services.store.rooms.findById(id)))(roomId);
  if (!room) throw notFound(`room: no room "${roomId}"`);
  const member = room.kind === 'GROUP' && (await ctx.services.store.rooms.isMember(room._id, p.id));
  if (!canReadRoom(room, p.id, member)) {
    throw forbidden(room.kind === 'GROUP' ? 'room: you are not a member of this group' : 'room: this private room belongs to two other people');
  }
  return room;
}

/** Resolves authors of stored messages in one query. */
export async function withAuthors(store: { users: Pick<UserRepository, 'findByIds'> }, docs: Omit<MessageDoc, 'outbox' | 'outboxPending'>[]): Promise<MessageView[]> {
  const ids = [...new Set(docs.map((d) => d.authorId))];
  const users = new Map<string, UserView>((await store.users.findByIds(ids)).map((u) => [u._id, toUserView(u)]));
  return docs.map((d) => toMessageView(d, users.get(d.authorId) ?? { ...GHOST_USER, id: d.authorId }));
}

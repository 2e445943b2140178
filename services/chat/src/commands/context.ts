import { AppError, ErrorCode, notFound, type CommandOf, type CommandType, type CommandValue, type RoomSignal, type UserSignal, type UserView } from '@conversa/contracts';
import { GHOST_USER, toUserView, type BlockRepository, type GroupRepository, type KeyedMutex, type MessageDoc, type MessageRepository, type PinRepository, type ReactionOp, type ReactionOutcome, type ReadStateRepository, type RoomRepository, type UserRepository } from '@conversa/store';
import type { Logger } from '@conversa/observability';
import type { EventFactory } from '../domain.js';
import type { ModerationApplier } from '../moderation.js';
import type { SendReads } from '../read-cache.js';
import { assertAdmin } from '../rules.js';
import type { MessageSequencer } from './sequencer.js';

/**
 * What every command handler may use: the repositories it writes (never the connection),
 * the shared per-room mutex, the send path's cached reads and sequencer, moderation, and the
 * room signal. Stored events reach the outbox relay through the store itself
 * (`Store.onEventsStored`), so no handler hands them over.
 */
export interface CommandContext {
  users: UserRepository;
  rooms: RoomRepository;
  messages: MessageRepository;
  /** Room activity, read positions, mentions (unread counts derive from them). */
  readState: ReadStateRepository;
  /** Group rooms' memberships and roles. */
  groups: GroupRepository;
  /** Who blocks whom. */
  blocks: BlockRepository;
  /** Pinned messages of each room. */
  pins: PinRepository;
  /** What a send reads, cached by the service (read-cache.ts). */
  reads: SendReads;
  /** Serializes a room's membership changes and inserts within this process. */
  roomLocks: KeyedMutex;
  /** Inserts a room's messages with dense seqs (group commit). */
  sequencer: MessageSequencer;
  /**
   * Reaction changes, batched per message in this process (ReactionRepository.apply): each
   * resolves with its outcome and the message after its batch, which the room was shown.
   */
  reactions: { apply(message: string, op: ReactionOp): Promise<{ outcome: ReactionOutcome; message: MessageDoc | null }> };
  /** Recounts of a thread root's replies, coalesced per root. */
  recounts: { thread(root: string): Promise<MessageDoc | null> };
  moderation: ModerationApplier;
  makeEvent: EventFactory;
  now: () => Date;
  newId: () => string;
  logger: Logger;
  /** Publishes a room's live signal; a failure is logged, never thrown (the write stands). */
  publish(room: string, signal: RoomSignal): Promise<void>;
  /** Publishes on one person's channel (their inbox streams); a failure is logged, never thrown. */
  publishToUser(user: string, signal: UserSignal): Promise<void>;
}

/** Executes one command type: validates again, writes, publishes; refusals throw AppErrors. */
export type CommandHandler<T extends CommandType> = (c: CommandOf<T>, ctx: CommandContext) => Promise<CommandValue<T>>;

/** The caller, who must still exist (usually a cache hit: read-cache.ts). */
export async function actorOf(ctx: CommandContext, id: string): Promise<UserView> {
  const u = await ctx.reads.user(id);
  if (!u) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
  return toUserView(u);
}

/** The caller, who must be an admin. */
export async function adminOf(ctx: CommandContext, id: string): Promise<UserView> {
  const actor = await actorOf(ctx, id);
  assertAdmin(actor);
  return actor;
}

/** A message's author as shown, or a ghost if the account is gone. */
export async function authorOf(ctx: CommandContext, id: string): Promise<UserView> {
  const u = await ctx.users.findById(id);
  return u ? toUserView(u) : { ...GHOST_USER, id };
}

/** The message a command changes. */
export async function messageToChange(ctx: CommandContext, id: string): Promise<MessageDoc> {
  const m = await ctx.messages.findById(id);
  if (!m) throw notFound(`id: no message "${id}"`);
  return m;
}

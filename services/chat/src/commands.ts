import { randomUUID } from 'node:crypto';
import { Command, ErrorCode, LIMITS, formatZodError, isAppError, type CommandOf, type CommandResult, type CommandType, type RoomSignal, type UserSignal } from '@conversa/contracts';
import { KeyedMutex, type MessageDoc, type ReactionOp, type ReactionOutcome, type Store } from '@conversa/store';
import type { Logger } from '@conversa/observability';
import { eventFactory } from './domain.js';
import { ModerationApplier, type MuteTimers } from './moderation.js';
import { storeReads, type SendReads } from './read-cache.js';
import type { CommandContext } from './commands/context.js';
import { commandHandlers, type CommandHandlers } from './commands/registry.js';
import { KeyedBatches, Recounts } from './recounts.js';
import { publishMessage } from './commands/threads.js';
import { localSeqLocks, MessageSequencer, type RoomSeqLocks } from './commands/sequencer.js';

export type { RoomSeqLocks } from './commands/sequencer.js';

/** Publishes a room's live signal (Redis pub/sub in production). */
export interface SignalPublisher {
  publish(room: string, signal: RoomSignal): Promise<void>;
  /** Publishes on one person's channel (their inbox streams); absent: nobody listens (tests). */
  publishToUser?(user: string, signal: UserSignal): Promise<void>;
}

/** The repositories commands write: users, rooms (and memberships), messages, moderation. */
export type CommandStore = Pick<Store, 'users' | 'rooms' | 'messages' | 'moderation' | 'readState' | 'groups' | 'blocks' | 'reactions' | 'pins'>;

/**
 * This process's thread recounts and reaction batches, coalesced per message (recounts.ts):
 * each run shows the message to its room once, however many callers share it; a reaction
 * batch that changed nothing (only repeats) shows nothing.
 */
function coalescedOf(store: Pick<Store, 'messages' | 'reactions'>, ctx: () => CommandContext, now: () => Date): Pick<CommandContext, 'recounts' | 'reactions'> {
  const thread = new Recounts(async (root: string) => {
    const doc = await store.messages.recountThread(root);
    if (doc) await publishMessage(ctx(), doc);
    return doc;
  });
  const reactions = new KeyedBatches<ReactionOp, { outcome: ReactionOutcome; message: MessageDoc | null }>(async (message, ops) => {
    const r = await store.reactions.apply(message, ops, { max: LIMITS.reactionEmojiMax, now });
    if (r.message && r.outcomes.includes('changed')) await publishMessage(ctx(), r.message);
    return r.outcomes.map((outcome) => ({ outcome, message: r.message }));
  });
  return { recounts: { thread: (root) => thread.run(root) }, reactions: { apply: (message, op) => reactions.submit(message, op) } };
}

export interface CommandDeps {
  store: CommandStore;
  publisher: SignalPublisher;
  logger: Logger;
  /** Ends timed mutes (BullMQ delayed jobs); without it mutes still expire at send time, but no unmute is recorded. */
  timers?: MuteTimers;
  now?: () => Date;
  newId?: () => string;
  /** The traceparent of the active span, stored in each event's envelope (tracing). */
  traceparent?: () => string | undefined;
  /** What a send reads (cached by the service, see read-cache.ts); default: the store. */
  reads?: SendReads;
  /** A room's inserts across chat processes (Redis in the service); default: this process only. */
  seqLocks?: RoomSeqLocks;
  /** The handler of each command type (default: commands/registry.ts). */
  handlers?: CommandHandlers;
}

/**
 * Executes commands: parses the job with the contract, dispatches it to its type's handler
 * (`commands/`), and turns refusals (AppErrors) into `{ ok: false }` results; infrastructure
 * failures throw so that the queue retries the job. Events the handlers store reach the outbox
 * relay through the store (`Store.onEventsStored`), not through here.
 */
export class CommandExecutor {
  /** Applies moderation actions: admins' commands here, rules' actions from Kafka, timers' ends. */
  readonly moderation: ModerationApplier;
  private readonly ctx: CommandContext;
  private readonly handlers: CommandHandlers;

  constructor(deps: CommandDeps) {
    const now = deps.now ?? (() => new Date());
    const makeEvent = eventFactory(now, randomUUID, deps.traceparent);
    const roomLocks = new KeyedMutex();
    const publish = async (room: string, signal: RoomSignal): Promise<void> => {
      try {
        await deps.publisher.publish(room, signal);
      } catch (e) {
        // The write is durable; subscribers fill the gap from the database on the next event or on resume.
        deps.logger.warn({ err: e, room }, 'room signal not published');
      }
    };
    const publishToUser = async (user: string, signal: UserSignal): Promise<void> => {
      try {
        await deps.publisher.publishToUser?.(user, signal);
      } catch (e) {
        // The write is durable; an inbox stream that missed it is right again after a re-read of inbox.
        deps.logger.warn({ err: e, user }, 'user signal not published');
      }
    };
    this.moderation = new ModerationApplier({
      store: deps.store,
      publish: (room, signal) => deps.publisher.publish(room, signal),
      timers: deps.timers ?? { schedule: () => Promise.resolve() },
      logger: deps.logger,
      now,
    });
    this.handlers = deps.handlers ?? commandHandlers;
    this.ctx = {
      users: deps.store.users,
      rooms: deps.store.rooms,
      messages: deps.store.messages,
      readState: deps.store.readState,
      groups: deps.store.groups,
      blocks: deps.store.blocks,
      pins: deps.store.pins,
      reads: deps.reads ?? storeReads(deps.store),
      roomLocks,
      sequencer: new MessageSequencer({ messages: deps.store.messages, roomLocks, seqLocks: deps.seqLocks ?? localSeqLocks, makeEvent, now }),
      ...coalescedOf(deps.store, () => this.ctx, now),
      moderation: this.moderation,
      makeEvent,
      now,
      newId: deps.newId ?? randomUUID,
      logger: deps.logger,
      publish,
      publishToUser,
    };
  }

  async execute(raw: unknown): Promise<CommandResult<CommandType>> {
    const parsed = Command.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, error: { code: ErrorCode.BAD_USER_INPUT, message: formatZodError(parsed.error) } };
    }
    try {
      const value = await this.dispatch(parsed.data);
      return { ok: true, value } as CommandResult<CommandType>;
    } catch (e) {
      if (isAppError(e)) return { ok: false, error: { code: e.code, message: e.message } };
      throw e;
    }
  }

  private dispatch<T extends CommandType>(c: CommandOf<T>): Promise<unknown> {
    const handler = this.handlers[c.type];
    return handler(c, this.ctx);
  }
}

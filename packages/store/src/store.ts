import type { Connection } from 'mongoose';
import type { Models } from './models.js';
import type { StoreBackend } from './backend.js';
import { StoreConnection, type EventsStoredListener, type StoreOptions } from './connection.js';
import { UserRepository } from './users.js';
import { RoomRepository } from './rooms.js';
import { MessageRepository } from './messages.js';
import { OutboxRepository } from './outbox.js';
import { AuditRepository } from './audit-log.js';
import { ModerationRepository } from './moderation.js';
import { ReconcileRepository } from './reconcile.js';
import { ReadStateRepository } from './read-state.js';
import { GroupRepository } from './groups.js';
import { BlockRepository } from './blocks.js';
import { ReactionRepository } from './reactions.js';
import { PinRepository } from './pins.js';

/**
 * The store: one repository per aggregate over one connection. Consumers take the
 * repositories they use (a command handler its `users`, `rooms`, `messages`; the relay the
 * `outbox`; the audit consumer the `audit`…), never the connection.
 */
export interface Store {
  readonly users: UserRepository;
  /** Rooms and memberships. */
  readonly rooms: RoomRepository;
  readonly messages: MessageRepository;
  /** Room activity, read positions and unread mentions: what unread counts derive from. */
  readonly readState: ReadStateRepository;
  readonly outbox: OutboxRepository;
  readonly audit: AuditRepository;
  /** Moderation actions and mutes. */
  readonly moderation: ModerationRepository;
  /** What the audit reconciliation reads and its checkpoints. */
  readonly reconcile: ReconcileRepository;
  /** Group rooms and their members' roles (API-product.graphql). */
  readonly groups: GroupRepository;
  /** Who blocks whom (API-product.graphql). */
  readonly blocks: BlockRepository;
  /** Reactions: one row per (message, emoji, person); the message's summary is recounted from them. */
  readonly reactions: ReactionRepository;
  /** Pinned messages of each room (API-product.graphql). */
  readonly pins: PinRepository;
  /** The server behind the connection, from its `buildInfo`. */
  readonly backend: StoreBackend;
  /** Whether updates run under document locks (StoreOptions.documentLocks). */
  readonly documentLocks: boolean;
  /**
   * Registers the one listener told of every event a write stored, after the write (the
   * outbox relay's fast path). Returns its removal; a second registration throws.
   */
  onEventsStored(listener: EventsStoredListener): () => void;
  /** Creates the collections and indexes every query relies on (idempotent). */
  ensureIndexes(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Drops the whole database: for tests only. */
  dropDatabase(): Promise<void>;
  /** The mongoose models and connection: for tests that inspect or damage the data directly. */
  readonly models: Models;
  readonly connection: Connection;
}

/** Connects (see StoreConnection.open) and builds every repository over the one connection. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const db = await StoreConnection.open(opts);
  const readState = new ReadStateRepository(db, opts.activityCache);
  const messages = new MessageRepository(db, readState);
  return {
    users: new UserRepository(db),
    rooms: new RoomRepository(db),
    messages,
    readState,
    outbox: new OutboxRepository(db),
    audit: new AuditRepository(db),
    moderation: new ModerationRepository(db),
    reconcile: new ReconcileRepository(db),
    groups: new GroupRepository(db),
    blocks: new BlockRepository(db),
    reactions: new ReactionRepository(db),
    pins: new PinRepository(db, messages),
    backend: db.backend,
    documentLocks: db.documentLocks,
    onEventsStored: (listener) => db.onEventsStored(listener),
    ensureIndexes: () => db.ensureIndexes(),
    ping: () => db.ping(),
    close: () => db.close(),
    dropDatabase: () => db.dropDatabase(),
    models: db.models,
    connection: db.connection,
  };
}

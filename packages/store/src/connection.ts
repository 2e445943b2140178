import mongoose, { type Connection } from 'mongoose';
import type { DomainEvent } from '@conversa/contracts';
import { defineModels, type Models } from './models.js';
import { LocalLocks, NoLocks, type DocLocks } from './keyed-mutex.js';
import {
  backendFromBuildInfo,
  documentLocksWanted,
  pointLookupsForIn,
  type DocumentLocksMode,
  type StoreBackend,
} from './backend.js';
import type { ActivityCache } from './read-state.js';

export interface StoreOptions {
  url: string;
  dbName: string;
  /**
   * Serializes updates of one document. FerretDB 1.x applies an update as read-modify-write
   * without a version check (FerretDB#3040), so two concurrent updates of one document can
   * lose one. Inserts are safe (unique indexes). Default: within this process only; the chat
   * service passes Redis locks so that its several processes are covered too. Used only when
   * `documentLocks` says so.
   */
  locks?: DocLocks;
  /**
   * Whether updates take `locks` at all: `auto` (default) on FerretDB, not on real MongoDB
   * (its single-document updates are atomic), as `buildInfo` tells at connect; `on`/`off`
   * force it. Config: STORE_DOCUMENT_LOCKS.
   */
  documentLocks?: DocumentLocksMode;
  /**
   * Called after each write that changes what a send checks (a user, a membership, a user's
   * mutes): the chat service drops it from its read caches, here and in its other processes.
   */
  onWrite?: (change: StoreChange) => void;
  /** Room activity for room lists (read-state.ts); used on FerretDB only. */
  activityCache?: ActivityCache;
  /** Server selection timeout, ms (5 s). */
  timeoutMs?: number;
  /**
   * Called on each error path (for metrics): `command` for a command the server refused or
   * that failed on the wire (duplicate-key write errors inside an acknowledged insert are
   * not errors), `connection` for a connection error.
   */
  onError?: (op: 'command' | 'connection', err: unknown) => void;
}

/** What a write changed: a user (id), a room (id), a membership (`room/user`), a user's mutes (user id). */
export interface StoreChange {
  kind: 'user' | 'room' | 'membership' | 'mutes';
  key: string;
}

/** The documents that carry outboxes (plus `messages`, whose posted events use marks). */
export type OutboxCollection =
  'users' | 'rooms' | 'memberships' | 'messages' | 'moderation_actions' | 'reactions';

/** Pending events of one document, as the outbox relay sees them. */
export interface PendingOutbox {
  collection: OutboxCollection;
  docId: string;
  events: DomainEvent[];
  /** A message's posted event, pending by its outbox mark (not by its outbox). */
  marked?: boolean;
}

/**
 * Told of every event a write stored (the outbox relay's fast path). Called after the write
 * was acknowledged, synchronously, once per document; must not throw.
 */
export type EventsStoredListener = (stored: PendingOutbox) => void;

/** Point look-ups one `byIds` runs at once on FerretDB (its PostgreSQL pool holds 50 connections). */
const POINT_LOOKUP_CONCURRENCY = 32;

/**
 * One MongoDB connection and what every repository over it shares: the models, the document
 * locks, the backend's quirks and the two write hooks (changes for the read caches, stored
 * events for the outbox relay). Repositories hold it; consumers never see it.
 */
export class StoreConnection {
  readonly models: Models;
  /** Whether updates run under document locks (StoreOptions.documentLocks). */
  readonly documentLocks: boolean;
  private readonly locks: DocLocks;
  /** The same locks whatever the backend: for a read-then-write that must not interleave. */
  private readonly strictLocks: DocLocks;
  private eventsListener: EventsStoredListener | undefined;

  private constructor(
    readonly connection: Connection,
    /** The server behind the connection, from its `buildInfo`. */
    readonly backend: StoreBackend,
    opts: Pick<StoreOptions, 'locks' | 'documentLocks'>,
    private readonly onWrite: (change: StoreChange) => void = () => undefined,
  ) {
    this.models = defineModels(connection);
    this.documentLocks = documentLocksWanted(opts.documentLocks ?? 'auto', backend);
    this.strictLocks = opts.locks ?? new LocalLocks();
    this.locks = this.documentLocks ? this.strictLocks : new NoLocks();
  }

  /**
   * Connects with a journaled majority write concern: an acknowledged write survives a
   * primary failover on a replica set (FerretDB accepts and ignores it; its PostgreSQL commits
   * synchronously). Asks the server's `buildInfo` which backend it is.
   */
  static async open(opts: StoreOptions): Promise<StoreConnection> {
    const conn = mongoose.createConnection(opts.url, {
      dbName: opts.dbName,
      serverSelectionTimeoutMS: opts.timeoutMs ?? 5_000,
      writeConcern: { w: 'majority', j: true },
      autoIndex: false,
      autoCreate: false,
      // Command events are only emitted with monitoring on; needed for the error count.
      ...(opts.onError ? { monitorCommands: true } : {}),
    });
    const onError = opts.onError;
    if (onError) {
      conn.on('error', (e: unknown) => onError('connection', e));
      conn.getClient().on('commandFailed', (e) => {
        // ensureIndexes racing another process: the collection exists, which is what it wanted.
        if (e.commandName === 'create' && (e.failure as { code?: unknown }).code === 48) return;
        onError('command', e.failure);
      });
    }
    await conn.asPromise();
    const db = conn.db;
    if (!db) throw new Error('not connected');
    const info: Record<string, unknown> = await db.admin().command({ buildInfo: 1 });
    return new StoreConnection(conn, backendFromBuildInfo(info), opts, opts.onWrite);
  }

  /** Every update of a document runs under its lock (see StoreOptions.locks). */
  locked<T>(collection: string, id: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(`${collection}:${id}`, task);
  }

  /**
   * A recount (read some documents, write what follows from them into one) under the
   * document's lock on every backend, not only where updates need it: two recounts that
   * interleave could write the older count last. On FerretDB it is the document's update lock,
   * so a recount also never interleaves with another update of the document.
   */
  serialized<T>(collection: string, id: string, task: () => Promise<T>): Promise<T> {
    return this.strictLocks.run(`${collection}:${id}`, task);
  }

  /** A write changed what a send checks (StoreOptions.onWrite). */
  changed(change: StoreChange): void {
    this.onWrite(change);
  }

  /** Registers the one listener of stored events; returns its removal. */
  onEventsStored(listener: EventsStoredListener): () => void {
    if (this.eventsListener) throw new Error('a listener of stored events is registered already');
    this.eventsListener = listener;
    return () => {
      if (this.eventsListener === listener) this.eventsListener = undefined;
    };
  }

  /** A write stored these events (called by the repositories after the write). */
  eventsStored(stored: PendingOutbox): void {
    this.eventsListener?.(stored);
  }

  /**
   * Documents with these `_id`s: one `$in` on MongoDB; on FerretDB, which pushes `$in` down to
   * nothing and reads the whole collection, point look-ups (indexed), a bounded number at once.
   */
  async byIds<T>(
    ids: readonly string[],
    find: (filter: Record<string, unknown>) => Promise<T[]>,
  ): Promise<T[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    if (!pointLookupsForIn(this.backend)) return find({ _id: { $in: unique } });
    const out: T[] = [];
    for (let i = 0; i < unique.length; i += POINT_LOOKUP_CONCURRENCY) {
      const found = await Promise.all(
        unique.slice(i, i + POINT_LOOKUP_CONCURRENCY).map((_id) => find({ _id })),
      );
      out.push(...found.flat());
    }
    return out;
  }

  /** Creates the indexes every query relies on (idempotent). */
  async ensureIndexes(): Promise<void> {
    for (const model of Object.values(this.models) as Models[keyof Models][]) {
      await model.createCollection().catch((e: unknown) => {
        if ((e as { code?: number }).code !== 48) throw e; // 48: NamespaceExists
      });
      await model.createIndexes();
    }
  }

  async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('not connected');
    await db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Drops the whole database: for tests only. */
  async dropDatabase(): Promise<void> {
    await this.connection.dropDatabase();
  }
}

/** A document as a caller inserts it: the outbox flag follows from its outbox. */
export type Insertable<T> = Omit<T, 'outboxPending'>;

import { randomUUID } from 'node:crypto';
import {
  AppError,
  badInput,
  Command,
  ErrorCode,
  formatZodError,
  forbidden,
  isAppError,
  notFound,
  conflict,
  type CommandOf,
  type CommandResult,
  type CommandType,
  type DomainEvent,
  type MessageView,
  type ModerationAction,
  type RoomSignal,
  type UserView,
} from '@conversa/contracts';
import {
  DuplicateKeyError,
  PartialInsertError,
  GHOST_USER,
  KeyedMutex,
  messageId,
  toMessageView as messageView,
  toRoomView as roomView,
  toUserView as userView,
  type MessageDoc,
  type OutboxCollection,
  type Store,
} from '@conversa/store';
import type { Logger } from '@conversa/observability';
import { directRoomId, eventFactory, normalizeBody, publicRoomId, type EventFactory } from './domain.js';
import { assertAdmin, assertCanDelete, assertCanEdit, assertCanSend, assertNotMuted } from './rules.js';
import { ModerationApplier, type MuteTimers } from './moderation.js';
import { storeReads, type SendReads } from './read-cache.js';

/** Publishes a room's live signal (Redis pub/sub in production). */
export interface SignalPublisher {
  publish(room: string, signal: RoomSignal): Promise<void>;
}

export interface CommandDeps {
  store: Store;
  publisher: SignalPublisher;
  /**
   * Called after each write that stored events in a document's outbox (the relay's fast
   * path); `marked`: a message's posted event, pending by its outbox mark.
   */
  onEventStored: (collection: OutboxCollection, docId: string, events: DomainEvent[], marked?: boolean) => void;
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
}

/**
 * Serializes a room's message inserts across chat processes and carries the room's newest seq
 * from one holder to the next (null: not known). Correctness does not rest on it: the unique
 * (room, seq) index refuses a taken seq whatever happens to the lock; it saves lost races.
 */
export interface RoomSeqLocks {
  run<T>(room: string, task: (newest: number | null) => Promise<{ value: T; newest: number | null }>): Promise<T>;
}

const localSeqLocks: RoomSeqLocks = { run: async (_room, task) => (await task(null)).value };

/** A send waiting for its room's insert (group commit, see enqueueInsert). */
interface Draft {
  author: UserView;
  body: string;
  clientMsgId: string;
}
type Inserted = MessageDoc | { message: MessageView; duplicate: boolean };
interface QueuedInsert {
  draft: Draft;
  resolve: (r: Inserted) => void;
  reject: (e: unknown) => void;
}
/** Messages of one room inserted in one write at most. */
const MAX_INSERT_BATCH = 64;

/** How often one send retries after losing a race for the next seq to another process. */
const MAX_SEQ_ATTEMPTS = 50;

/**
 * Executes commands: validates again, writes MongoDB (event in the same document), publishes
 * the room signal, nudges the outbox relay. Refusals come back as `{ ok: false }` results;
 * infrastructure failures throw so that the queue retries the job.
 */
export class CommandExecutor {
  private readonly roomLocks = new KeyedMutex();
  /** Per room: sends waiting to be inserted together (group commit). */
  private readonly insertQueues = new Map<string, QueuedInsert[]>();
  /** Last seq this process wrote per room; a hint only, the unique index decides. */
  private readonly lastSeq = new Map<string, number>();
  private readonly makeEvent: EventFactory;
  private readonly reads: SendReads;
  private readonly seqLocks: RoomSeqLocks;
  private readonly now: () => Date;
  private readonly newId: () => string;
  /** Applies moderation actions: admins' commands here, rules' actions from Kafka, timers' ends. */
  readonly moderation: ModerationApplier;

  constructor(private readonly deps: CommandDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
    this.reads = deps.reads ?? storeReads(deps.store);
    this.seqLocks = deps.seqLocks ?? localSeqLocks;
    this.makeEvent = eventFactory(this.now, randomUUID, deps.traceparent);
    this.moderation = new ModerationApplier({
      store: deps.store,
      publish: (room, signal) => deps.publisher.publish(room, signal),
      onEventStored: deps.onEventStored,
      timers: deps.timers ?? { schedule: () => Promise.resolve() },
      logger: deps.logger,
      now: this.now,
    });
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

  private dispatch(c: Command): Promise<unknown> {
    switch (c.type) {
      case 'user.register':
        return this.register(c);
      case 'room.join':
        return this.join(c);
      case 'room.leave':
        return this.leave(c);
      case 'message.send':
        return this.send(c);
      case 'user.rename':
        return this.rename(c);
      case 'room.openDirect':
        return this.openDirect(c);
      case 'message.edit':
        return this.edit(c);
      case 'message.delete':
        return this.remove(c);
      case 'message.hide':
      case 'message.unhide':
        return this.hideOrUnhide(c);
      case 'user.mute':
        return this.mute(c);
      case 'user.unmute':
        return this.unmute(c);
      case 'room.setSlowMode':
        return this.setSlowMode(c);
    }
  }

  private async actor(id: string): Promise<UserView> {
    const u = await this.deps.store.findUserById(id);
    if (!u) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
    return userView(u);
  }

  private async rename(c: CommandOf<'user.rename'>) {
    const before = await this.actor(c.actor);
    const displayName = c.displayName.normalize('NFC').trim();
    if (displayName.length === 0) throw badInput('displayName: cannot be blank', { field: 'displayName' });
    const after = { ...before, displayName };
    const event = this.makeEvent('user.renamed', before.id, before.id, { user: after, previousDisplayName: before.displayName });
    const stored = await this.deps.store.renameUser(before.id, displayName, event);
    if (!stored) throw notFound('user: no such user');
    this.deps.onEventStored('users', before.id, [event]);
    return { user: userView(stored) };
  }

  private async openDirect(c: CommandOf<'room.openDirect'>) {
    if (c.peer === c.actor) throw badInput('userId: a private room needs another person, not yourself', { field: 'userId' });
    const [me, peer] = await Promise.all([this.actor(c.actor), this.deps.store.findUserById(c.peer)]);
    if (!peer) throw notFound(`userId: no user "${c.peer}"`);
    const id = directRoomId(me.id, peer._id);
    const pair = [me.id, peer._id].sort();
    const created = [this.makeEvent('room.created', id, me.id, { room: id, name: 'direct', kind: 'DIRECT', members: pair })];
    // The id is derived from the pair and unique: both opening at once still yields one room.
    const { room, created: isNew } = await this.deps.store.ensureRoom({
      _id: id,
      name: 'direct',
      kind: 'DIRECT',
      pair,
      createdAt: this.now(),
      outbox: created,
    });
    if (isNew) this.deps.onEventStored('rooms', id, created);
    return { room: roomView(room) };
  }

  private async loadForChange(id: string) {
    const m = await this.deps.store.findMessage(id);
    if (!m) throw notFound(`id: no message "${id}"`);
    return m;
  }

  private async edit(c: CommandOf<'message.edit'>) {
    const body = normalizeBody(c.body);
    const actor = await this.actor(c.actor);
    const m = await this.loadForChange(c.id);
    assertCanEdit(m, actor);
    const editedAt = this.now();
    const view = messageView({ ...m, body, editedAt }, actor);
    const event = this.makeEvent('message.edited', m.room, actor.id, { message: view, previousBody: m.body });
    const stored = await this.deps.store.updateMessage(m._id, ['VISIBLE'], { body, editedAt }, event);
    // Deleted or hidden between the read and the write: refuse like the rule would have.
    if (!stored) throw forbidden('id: the message was deleted or hidden meanwhile');
    this.deps.onEventStored('messages', m._id, [event]);
    const out = messageView(stored, actor);
    await this.publish(m.room, { kind: 'message.updated', message: out });
    return { message: out };
  }

  private async remove(c: CommandOf<'message.delete'>) {
    const actor = await this.actor(c.actor);
    const m = await this.loadForChange(c.id);
    assertCanDelete(m, actor);
    const author = m.authorId === actor.id ? actor : await this.authorOf(m.authorId);
    if (m.status === 'DELETED') return { message: messageView(m, author) };
    const view = messageView({ ...m, status: 'DELETED', body: '' }, author);
    const event = this.makeEvent('message.deleted', m.room, actor.id, { message: view, by: actor.id });
    const stored = await this.deps.store.updateMessage(m._id, ['VISIBLE', 'HIDDEN'], { status: 'DELETED', body: '' }, event);
    if (!stored) return { message: view }; // deleted meanwhile by someone else: same outcome
    this.deps.onEventStored('messages', m._id, [event]);
    const out = messageView(stored, author);
    await this.publish(m.room, { kind: 'message.updated', message: out });
    return { message: out };
  }

  private async authorOf(id: string): Promise<UserView> {
    const u = await this.deps.store.findUserById(id);
    return u ? userView(u) : { ...GHOST_USER, id };
  }

  private async register(c: CommandOf<'user.register'>) {
    const id = this.newId();
    const view: UserView = { id, username: c.username.toLowerCase(), displayName: c.displayName, role: c.role };
    const outbox = [this.makeEvent('user.registered', id, id, { user: view })];
    try {
      await this.deps.store.createUser({
        _id: id,
        username: view.username,
        displayName: c.displayName,
        role: c.role,
        passwordHash: c.passwordHash,
        createdAt: this.now(),
        outbox,
      });
    } catch (e) {
      if (!(e instanceof DuplicateKeyError)) throw e;
      // A retried job (its first run stored the user, then died) finds its own hash: same user.
      const existing = await this.deps.store.findUserByUsername(view.username);
      if (existing?.passwordHash === c.passwordHash) return { user: userView(existing) };
      throw conflict(`username: "${view.username}" is taken`);
    }
    this.deps.onEventStored('users', id, outbox);
    return { user: view };
  }

  private async join(c: CommandOf<'room.join'>) {
    const user = await this.actor(c.actor);
    const id = publicRoomId(c.name);
    return this.roomLocks.run(id, async () => {
      const created = [this.makeEvent('room.created', id, user.id, { room: id, name: c.name.trim(), kind: 'PUBLIC', members: [] })];
      const { room, created: isNew } = await this.deps.store.ensureRoom({
        _id: id,
        name: c.name.trim(),
        kind: 'PUBLIC',
        pair: [],
        createdAt: this.now(),
        outbox: created,
      });
      if (isNew) this.deps.onEventStored('rooms', id, created);
      const joined = this.makeEvent('room.joined', id, user.id, { room: id, user: user.id });
      if (await this.deps.store.setMembership(id, user.id, true, joined)) {
        this.deps.onEventStored('memberships', `${id}/${user.id}`, [joined]);
      }
      return { room: roomView(room) };
    });
  }

  private async leave(c: CommandOf<'room.leave'>) {
    const room = await this.deps.store.findRoom(c.room);
    if (!room) throw notFound(`room: no room "${c.room}"`);
    if (room.kind === 'DIRECT') throw forbidden('room: a private room cannot be left');
    const event = this.makeEvent('room.left', c.room, c.actor, { room: c.room, user: c.actor });
    const left = await this.roomLocks.run(c.room, () => this.deps.store.setMembership(c.room, c.actor, false, event));
    if (left) this.deps.onEventStored('memberships', `${c.room}/${c.actor}`, [event]);
    return { left };
  }

  private async send(c: CommandOf<'message.send'>) {
    const body = normalizeBody(c.body);
    // The four reads run at once (usually cache hits, see read-cache.ts).
    const [user, room, member, mutes] = await Promise.all([
      this.reads.user(c.actor),
      this.reads.room(c.room),
      this.reads.isMember(c.room, c.actor),
      this.reads.mutes(c.actor, c.room),
    ]);
    if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'your account no longer exists; sign in again');
    const author = userView(user);
    if (!room) throw notFound(`room: no room "${c.room}"`);
    assertCanSend(room, author.id, room.kind === 'PUBLIC' && member);
    // No clientMsgId look-up up front: on FerretDB it scans the whole collection, and the
    // unique (author, clientMsgId) index already turns a retry into its stored message in
    // insertNext. Only a refused (muted) send looks, so that a send accepted before the mute
    // still answers the same on retry.
    try {
      assertNotMuted(mutes, this.now());
    } catch (e) {
      const existing = await this.deps.store.findMessageByClientId(author.id, c.clientMsgId);
      if (existing) return this.duplicateOf(existing, author, c.room);
      throw e;
    }

    const stored = await this.enqueueInsert(room._id, { author, body, clientMsgId: c.clientMsgId });
    if ('duplicate' in stored) return stored;
    if (stored.posted) this.deps.onEventStored('messages', stored._id, [stored.posted], true);
    const view = messageView(stored, author);
    await this.publish(room._id, { kind: 'message.added', message: view });
    return { message: view, duplicate: false };
  }

  private duplicateOf(m: MessageDoc, author: UserView, room: string) {
    if (m.room !== room) throw conflict('clientMsgId: already used for a message to another room');
    return { message: messageView(m, author), duplicate: true };
  }

  /**
   * Group commit. A room's inserts run one at a time: in this process (roomLocks), then across
   * chat processes (seqLocks, which also hand over the room's newest seq, so that an insert is
   * right the first time instead of losing a race and searching for the newest). The sends
   * that queue for a room while its insert runs go in together next: one write of their marks
   * and one of their messages (Store.insertMessages) instead of two per message. No send
   * waits for a batch to fill: the first goes alone, the queue forms only under load.
   */
  private enqueueInsert(room: string, draft: Draft): Promise<Inserted> {
    return new Promise<Inserted>((resolve, reject) => {
      let queue = this.insertQueues.get(room);
      const idle = !queue;
      if (!queue) this.insertQueues.set(room, (queue = []));
      queue.push({ draft, resolve, reject });
      if (idle) void this.drainInserts(room, queue);
    });
  }

  private async drainInserts(room: string, queue: QueuedInsert[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_INSERT_BATCH);
      try {
        const results = await this.roomLocks.run(room, () =>
          this.seqLocks.run(room, async (newest) => {
            if (newest !== null && newest > (this.lastSeq.get(room) ?? 0)) this.lastSeq.set(room, newest);
            const value = await this.insertBatch(room, batch.map((b) => b.draft));
            return { value, newest: this.lastSeq.get(room) ?? null };
          }),
        );
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (e) {
        batch.forEach((b) => b.reject(e));
      }
    }
    this.insertQueues.delete(room);
  }

  /** Consecutive seqs for the drafts in one go; after a refusal, the rest one by one (insertNext). */
  private async insertBatch(room: string, drafts: Draft[]): Promise<Inserted[]> {
    if (drafts.length === 1) {
      const d = drafts[0]!;
      return [await this.insertNext(room, d.author, d.body, d.clientMsgId)];
    }
    const seq = this.lastSeq.get(room) ?? (await this.deps.store.lastSeq(room));
    const createdAt = this.now();
    const docs = drafts.map((d, i) => {
      const doc = { _id: messageId(room, seq + 1 + i), room, seq: seq + 1 + i, authorId: d.author.id, body: d.body, status: 'VISIBLE' as const, clientMsgId: d.clientMsgId, createdAt, editedAt: null };
      return { ...doc, outbox: [], posted: this.makeEvent('message.posted', room, d.author.id, { message: messageView(doc, d.author) }) };
    });
    try {
      const stored = await this.deps.store.insertMessages(docs);
      this.lastSeq.set(room, seq + docs.length);
      return stored;
    } catch (e) {
      if (!(e instanceof PartialInsertError)) throw e;
      if (e.inserted > 0) this.lastSeq.set(room, seq + e.inserted);
      const out: Inserted[] = docs.slice(0, e.inserted).map((d) => ({ ...d, outboxPending: false }));
      for (const d of drafts.slice(e.inserted)) out.push(await this.insertNext(room, d.author, d.body, d.clientMsgId));
      return out;
    }
  }

  /** Insert with seq = last + 1 under the unique (room, seq) index; on a lost race, read and retry. */
  private async insertNext(room: string, author: UserView, body: string, clientMsgId: string) {
    let seq = this.lastSeq.get(room) ?? (await this.deps.store.lastSeq(room));
    for (let attempt = 0; attempt < MAX_SEQ_ATTEMPTS; attempt++) {
      const createdAt = this.now();
      const next = seq + 1;
      // The id is (room, seq): a seq exists only with its message, and both are found by _id.
      const id = messageId(room, next);
      const doc = {
        _id: id,
        room,
        seq: next,
        authorId: author.id,
        body,
        status: 'VISIBLE' as const,
        clientMsgId,
        createdAt,
        editedAt: null,
      };
      const view = messageView(doc, author);
      try {
        const stored = await this.deps.store.insertMessage({
          ...doc,
          outbox: [],
          posted: this.makeEvent('message.posted', room, author.id, { message: view }),
        });
        this.lastSeq.set(room, next);
        return stored;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e;
        // FerretDB does not say which index refused the insert, so ask the data.
        const taken = await this.deps.store.findMessage(id);
        if (taken) {
          if (taken.authorId === author.id && taken.clientMsgId === clientMsgId) return this.duplicateOf(taken, author, room);
          // Another process took this seq: find the newest and go again.
          seq = await this.deps.store.lastSeq(room, next);
          this.lastSeq.set(room, seq);
          continue;
        }
        // The seq is free, so the unique (author, clientMsgId) index refused it: a retry.
        const dup = await this.deps.store.findMessageByClientId(author.id, clientMsgId);
        if (dup) return this.duplicateOf(dup, author, room);
      }
    }
    throw new Error(`room ${room}: no free seq after ${MAX_SEQ_ATTEMPTS} attempts`);
  }

  // ---- moderation (admins) -------------------------------------------------------------

  private async admin(id: string): Promise<UserView> {
    const actor = await this.actor(id);
    assertAdmin(actor);
    return actor;
  }

  private adminAction(
    admin: UserView,
    a: Pick<ModerationAction, 'kind' | 'target' | 'room' | 'reason'>,
    at: Date = this.now(),
    until: Date | null = null,
  ): ModerationAction {
    return { ...a, id: this.newId(), rule: null, by: admin.id, at: at.toISOString(), until: until ? until.toISOString() : null };
  }

  private async hideOrUnhide(c: CommandOf<'message.hide'> | CommandOf<'message.unhide'>) {
    const admin = await this.admin(c.actor);
    const m = await this.loadForChange(c.id);
    const hide = c.type === 'message.hide';
    if (m.status === 'DELETED') throw forbidden(`id: a deleted message cannot be ${hide ? 'hidden' : 'unhidden'}`);
    const reason = c.type === 'message.hide' ? c.reason : 'unhidden by an admin';
    const done = await this.moderation.apply(this.adminAction(admin, { kind: hide ? 'hide' : 'unhide', target: m._id, room: m.room, reason }));
    const after = done.message ?? m;
    return { message: messageView(after, await this.authorOf(after.authorId)) };
  }

  private async mute(c: CommandOf<'user.mute'>) {
    const admin = await this.admin(c.actor);
    if (!(await this.deps.store.findUserById(c.user))) throw notFound(`userId: no user "${c.user}"`);
    if (c.room !== null && !(await this.deps.store.findRoom(c.room))) throw notFound(`room: no room "${c.room}"`);
    const at = this.now();
    const until = new Date(at.getTime() + Math.max(1, Math.round(c.minutes * 60_000)));
    const { action } = await this.moderation.apply(this.adminAction(admin, { kind: 'mute', target: c.user, room: c.room, reason: c.reason }, at, until));
    return { action };
  }

  private async unmute(c: CommandOf<'user.unmute'>) {
    const admin = await this.admin(c.actor);
    if (!(await this.deps.store.findUserById(c.user))) throw notFound(`userId: no user "${c.user}"`);
    const { action } = await this.moderation.apply(this.adminAction(admin, { kind: 'unmute', target: c.user, room: null, reason: 'unmuted by an admin' }));
    return { action };
  }

  /** Slow mode is enforced by the gateways at send time (they read it from the room). */
  private async setSlowMode(c: CommandOf<'room.setSlowMode'>) {
    const admin = await this.admin(c.actor);
    const room = await this.deps.store.findRoom(c.room);
    if (!room) throw notFound(`room: no room "${c.room}"`);
    if (room.kind === 'DIRECT') throw forbidden('room: slow mode is for public rooms');
    const previousSeconds = room.slowModeSeconds ?? 0;
    if (previousSeconds === c.seconds) return { room: roomView(room) };
    const event = this.makeEvent('room.slowModeSet', room._id, admin.id, { room: room._id, seconds: c.seconds, previousSeconds });
    const stored = await this.deps.store.setRoomSlowMode(room._id, c.seconds, event);
    if (!stored) throw notFound(`room: no room "${c.room}"`);
    this.deps.onEventStored('rooms', room._id, [event]);
    return { room: roomView(stored) };
  }

  private async publish(room: string, signal: RoomSignal): Promise<void> {
    try {
      await this.deps.publisher.publish(room, signal);
    } catch (e) {
      // The write is durable; subscribers fill the gap from the database on the next event or on resume.
      this.deps.logger.warn({ err: e, room }, 'room signal not published');
    }
  }
}

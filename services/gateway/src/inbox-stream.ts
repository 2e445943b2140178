import { mentionsIn, type MessageView, type RoomSignal, type UserSignal } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';
import { roomCounts, toRoomView as toRoomViewOf, type LastMessage, type RoomActivityDoc, type RoomDoc, type Store } from '@conversa/store';
import { LiveStream } from './live-stream.js';
import type { RoomHub, RoomHubs } from './room-hub.js';
import type { RoomState, RoomWithState } from './read-state.js';

/** One person's channel of room-list changes (Redis pub/sub in production). */
export interface UserSignalSource {
  /** Resolves once the subscription is active; the returned function ends it. */
  subscribeUser(user: string, onSignal: (signal: UserSignal) => void): Promise<() => Promise<void>>;
}

export type InboxKind = 'MESSAGE' | 'READ' | 'ADDED' | 'REMOVED' | 'UPDATED';

/** One `inbox` event as the resolvers render it: the room with the person's state, and the message of MESSAGE. */
export interface InboxPayload {
  kind: InboxKind;
  room: RoomWithState;
  message: MessageView | null;
}

export type InboxReads = Pick<Store, 'rooms' | 'readState' | 'messages'>;

export interface InboxDeps {
  hubs: RoomHubs;
  users: UserSignalSource;
  store: InboxReads;
  /** Stored messages with after < seq ≤ upTo (the hubs' history reader). */
  between: (room: string, after: number, upTo: number) => Promise<MessageView[]>;
  logger: Logger;
  /** Events that may wait for one subscriber before `onSlow` ends its stream. */
  maxPending: number;
}

/**
 * One room of one person's inbox stream, counted in memory from the moment it was read:
 * `counted` is the newest seq the counts include, `gone` the non-VISIBLE seqs after the read
 * position, `mentions` the unread seqs that mention the person (by name or @room). The counts
 * are the same formula as `roomCounts` (read-state.ts in the store), kept up to date by the
 * room's ordered, gap-free message stream (the hub), by `message.updated` signals (the room's
 * activity is read again, once per signal for every stream of this gateway) and by the
 * person's read signals.
 */
class TrackedRoom {
  r = 0;
  counted = 0;
  gone = new Set<number>();
  mentions = new Set<number>();
  last: LastMessage | MessageView | null = null;
  activeAt: Date;
  chain: Promise<void> = Promise.resolve();
  /** Hub events that came while the room was being read. */
  early: ({ m: MessageView } | { s: RoomSignal })[] | undefined = [];

  /** The seq the hub continues after (set on attaching) and the hub listeners. */
  hubLast = 0;
  onMessage: (m: MessageView) => void = () => undefined;
  onSignal: (s: RoomSignal) => void = () => undefined;

  constructor(
    public doc: RoomDoc,
    readonly hub: RoomHub,
  ) {
    this.activeAt = doc.createdAt;
  }

  /** The store's formula over what this stream counted so far. */
  state(): RoomState {
    const counts = roomCounts({ lastSeq: this.counted, gone: [...this.gone], roomMentions: [] }, this.r, [...this.mentions]);
    return { ...counts, last: this.last, activeAt: this.activeAt };
  }

  /** Everything up to `seq` is read: what lies at or below it no longer needs remembering. */
  readUpTo(seq: number): boolean {
    if (seq <= this.r) return false;
    this.r = seq;
    for (const g of this.gone) if (g <= seq) this.gone.delete(g);
    for (const s of this.mentions) if (s <= seq) this.mentions.delete(s);
    return true;
  }

  /** Takes the stored state: activity, read position, unread mention rows. */
  load(activity: RoomActivityDoc | null, r: number, mentionSeqs: readonly number[]): void {
    this.r = r;
    this.counted = activity?.lastSeq ?? 0;
    this.last = activity?.last ?? null;
    if (activity) this.activeAt = activity.lastAt;
    this.gone = new Set((activity?.gone ?? []).filter((g) => g > r));
    this.mentions = new Set([...mentionSeqs, ...(activity?.roomMentions ?? [])].filter((s) => s > r));
  }
}

const sameLast = (a: { seq: number; body: string } | null, b: { seq: number; body: string } | null) => a?.seq === b?.seq && a?.body === b?.body;

/**
 * The `inbox` subscriptions of one gateway process: one stream per person and subscription,
 * across every room of theirs, fed by the room hubs (shared with `messageAdded` and every other
 * stream of the room on this gateway) and by the person's channel. Each event carries the
 * room's whole state for that person (never a delta), so a client that applies the `inbox`
 * query's page and then every event since it subscribed, in order, is exact.
 */
export class InboxStreams {
  /** The room activity read once per `message.updated` signal for every stream of this gateway. */
  private readonly activityReads = new WeakMap<object, Promise<RoomActivityDoc | null>>();

  constructor(private readonly deps: InboxDeps) {}

  open(user: string, username: string, onSlow: () => void): LiveStream<InboxPayload> {
    const { deps } = this;
    const name = username.toLowerCase();
    return new LiveStream<InboxPayload>(async (stream) => {
      const rooms = new Map<string, TrackedRoom>();
      let closed = false;
      const emit = (kind: InboxKind, t: TrackedRoom | RoomDoc, message: MessageView | null = null) => {
        if (closed) return;
        const room: RoomWithState =
          t instanceof TrackedRoom
            ? { ...toRoomViewOf(t.doc), state: t.state() }
            : { ...toRoomViewOf(t), state: { lastReadSeq: 0, unread: 0, mentions: 0, last: null, activeAt: t.createdAt } };
        const payload: InboxPayload = { kind, room, message };
        if (stream.handoff && stream.waiting) {
          stream.handoff(payload);
          return;
        }
        if (stream.pending >= deps.maxPending) {
          closed = true;
          onSlow();
          stream.finish();
          return;
        }
        stream.push(payload);
      };
      const onRoomError = (room: string) => (e: unknown) => deps.logger.warn({ err: e, room, user }, 'inbox stream: a room event was not applied');

      /** Counts a message of the room's stream in; false when it was counted already (read with the room). */
      const count = (t: TrackedRoom, m: MessageView): boolean => {
        if (m.seq <= t.counted) {
          // It may still be newer than the last message shown.
          if (m.status === 'VISIBLE' && (!t.last || t.last.seq < m.seq)) t.last = m;
          return false;
        }
        t.counted = m.seq;
        t.activeAt = new Date(m.createdAt);
        if (m.status === 'VISIBLE') t.last = m;
        else t.gone.add(m.seq);
        if (m.author.id === user) t.readUpTo(m.seq); // a send moves its author's position to it
        else if (m.status === 'VISIBLE') {
          const found = mentionsIn(m.body);
          if (found.room || found.usernames.includes(name)) t.mentions.add(m.seq);
        }
        return true;
      };
      const applyMessage = (t: TrackedRoom, m: MessageView) => {
        if (count(t, m)) emit('MESSAGE', t, m);
      };

      const applyUpdate = async (t: TrackedRoom, s: Extract<RoomSignal, { kind: 'message.updated' }>) => {
        let read = this.activityReads.get(s);
        if (!read) this.activityReads.set(s, (read = deps.store.readState.activity(t.doc._id)));
        const activity = await read;
        const before = t.state();
        const m = s.message;
        if (m.status === 'VISIBLE') t.gone.delete(m.seq);
        else if (m.seq > t.r) t.gone.add(m.seq);
        // The writer updated the activity before it published: its last message is current,
        // unless this stream has seen newer messages than the activity holds.
        if (activity?.last && (!t.last || activity.last.seq >= t.last.seq || t.gone.has(t.last.seq))) t.last = activity.last;
        else if (!activity?.last && t.last && t.gone.has(t.last.seq)) t.last = null;
        else if (t.last && t.last.seq === m.seq && m.status === 'VISIBLE') t.last = m;
        const after = t.state();
        if (before.unread !== after.unread || before.mentions !== after.mentions || !sameLast(before.last, after.last)) emit('UPDATED', t);
      };

      const applySignal = async (t: TrackedRoom, s: RoomSignal): Promise<void> => {
        if (s.kind === 'message.updated') return applyUpdate(t, s);
        if (s.kind !== 'room.updated') return;
        // Name, members, roles: the signal carries the room as it is now (no read per stream).
        t.doc = { ...t.doc, name: s.room.name, slowModeSeconds: s.room.slowModeSeconds };
        emit('UPDATED', t);
      };

      const track = async (docs: RoomDoc[]): Promise<TrackedRoom[]> => {
        const tracked: TrackedRoom[] = [];
        for (const doc of docs) {
          if (rooms.has(doc._id)) continue;
          const hub = await deps.hubs.acquire(doc._id);
          const t = new TrackedRoom(doc, hub);
          // The listeners buffer until the room is read.
          t.onMessage = (m: MessageView) => {
            if (t.early) t.early.push({ m });
            else t.chain = t.chain.then(() => applyMessage(t, m)).catch(onRoomError(doc._id));
          };
          t.onSignal = (s: RoomSignal) => {
            if (s.kind !== 'message.updated' && s.kind !== 'room.updated') return;
            if (t.early) t.early.push({ s });
            else t.chain = t.chain.then(() => applySignal(t, s)).catch(onRoomError(doc._id));
          };
          t.hubLast = hub.attachMessages(t.onMessage);
          hub.attachSignals(t.onSignal);
          rooms.set(doc._id, t);
          tracked.push(t);
        }
        // Read after attaching: nothing published in between is lost (see `load`'s seam below).
        const ids = tracked.map((t) => t.doc._id);
        const [activities, positions, mentionRows] = await Promise.all([
          deps.store.readState.activities(ids),
          Promise.all(ids.map((id) => deps.store.readState.position(id, user))),
          deps.store.readState.mentionsOf(user),
        ]);
        const activityOf = new Map(activities.map((a) => [a._id, a]));
        for (const [i, t] of tracked.entries()) {
          const mine = mentionRows.filter((m) => m.room === t.doc._id).map((m) => m.seq);
          t.load(activityOf.get(t.doc._id) ?? null, positions[i]?.lastReadSeq ?? 0, mine);
          // Messages the hub had emitted before we attached but the activity did not hold yet.
          const missed = t.hubLast > t.counted ? await deps.between(t.doc._id, t.counted, t.hubLast) : [];
          const early = t.early ?? [];
          t.early = undefined;
          // Published before this stream existed: counted, not announced.
          for (const m of missed) count(t, m);
          for (const e of early) {
            if ('m' in e) t.chain = t.chain.then(() => applyMessage(t, e.m)).catch(onRoomError(t.doc._id));
            else {
              const s = e.s;
              t.chain = t.chain.then(() => applySignal(t, s)).catch(onRoomError(t.doc._id));
            }
          }
        }
        return tracked;
      };
      const untrack = (t: TrackedRoom) => {
        t.hub.detachMessages(t.onMessage);
        t.hub.detachSignals(t.onSignal);
        deps.hubs.release(t.hub);
        rooms.delete(t.doc._id);
      };

      // The person's channel first, buffered until their rooms are read.
      let userEarly: UserSignal[] | undefined = [];
      let userChain: Promise<void> = Promise.resolve();
      const onUserSignal = (s: UserSignal) => {
        if (userEarly) userEarly.push(s);
        else userChain = userChain.then(() => applyUser(s)).catch((e: unknown) => deps.logger.warn({ err: e, user }, 'inbox stream: a user signal was not applied'));
      };
      const applyUser = async (s: UserSignal) => {
        const t = rooms.get(s.room);
        switch (s.kind) {
          case 'read':
            if (t) t.chain = t.chain.then(() => void (t.readUpTo(s.lastReadSeq) && emit('READ', t)));
            return;
          case 'added': {
            if (t) return;
            const doc = await deps.store.rooms.findById(s.room);
            if (!doc || closed) return;
            const [added] = await track([doc]);
            if (added) added.chain = added.chain.then(() => emit('ADDED', added));
            return;
          }
          case 'removed':
            if (!t) return;
            // After this, nothing of the room reaches the person.
            untrack(t);
            emit('REMOVED', t.doc);
            return;
        }
      };
      const unsubscribeUser = await deps.users.subscribeUser(user, onUserSignal);
      const cleanup = async () => {
        closed = true;
        for (const t of [...rooms.values()]) untrack(t);
        await unsubscribeUser();
      };
      try {
        const [memberOf, direct] = await Promise.all([deps.store.rooms.roomIdsOf(user), deps.store.rooms.listDirect(user)]);
        const joined = await deps.store.rooms.findByIds(memberOf.filter((id) => !direct.some((d) => d._id === id)));
        await track([...joined, ...direct]);
        const early = userEarly;
        userEarly = undefined;
        for (const s of early) onUserSignal(s);
      } catch (e) {
        await cleanup();
        throw e;
      }
      return cleanup;
    });
  }
}

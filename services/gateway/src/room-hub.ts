import type { MessageView, RoomSignal } from '@conversa/contracts';
import type { Logger } from '@conversa/observability';
import { LiveStream } from './live-stream.js';

/** A room's live signals (Redis pub/sub in production). */
export interface RoomSignalSource {
  /** Resolves once the subscription is active; the returned function ends it. */
  subscribe(room: string, onSignal: (signal: RoomSignal) => void): Promise<() => Promise<void>>;
}

/** Stored messages, the source of truth the live stream is repaired from. */
export interface HistoryReader {
  lastSeq(room: string): Promise<number>;
  /** Messages with after < seq ≤ upTo, ascending, at most `limit`. */
  between(room: string, after: number, upTo: number, limit: number): Promise<MessageView[]>;
}

type MessageListener = (m: MessageView) => void;

/**
 * What happens to a subscriber that does not keep up: once `maxPending` messages wait for it,
 * `onSlow` runs (the gateway closes its socket with 4413) and its stream ends. Memory per
 * socket stays bounded; the client resumes with `after` and loses nothing.
 */
export interface SlowConsumerPolicy {
  maxPending: number;
  onSlow: () => void;
}

/** Called when a subscriber's stream starts and when it ends (presence "in the room"). */
export interface RoomPresence {
  enter(): Promise<void>;
  leave(): Promise<void>;
}
type SignalListener = (s: RoomSignal) => void;

/**
 * A stream whose consumer may take live events straight from the hub: once `handoff` is set
 * and nothing waits in the stream's queue (replay done, every pulled event handled), events
 * go to it synchronously instead of through the queue's promises. The fan-out sets it (it
 * writes frames itself, see fanout.ts); a plain consumer's loop never does.
 */
export interface Handoff<T> {
  handoff: ((value: T) => void) | undefined;
}

/** Messages a replay reads per round trip. */
const REPLAY_PAGE = 500;

/**
 * One room's live stream in one gateway process: one Redis subscription however many sockets
 * listen. It turns pub/sub (which may reorder between publishers and drop during reconnects)
 * into a strictly increasing, gap-free sequence: an event beyond the next expected seq first
 * reads the missing ones from the database. Dense sequences make that read exact: seq n+1 is
 * only ever written after seq n exists.
 */
export class RoomHub {
  /** Seq of the newest message emitted to listeners. */
  last = 0;
  refs = 0;
  private readonly messageListeners = new Set<MessageListener>();
  private readonly signalListeners = new Set<SignalListener>();
  private chain: Promise<void> = Promise.resolve();
  unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    readonly room: string,
    private readonly history: HistoryReader,
    private readonly logger: Logger,
  ) {}

  onSignal(signal: RoomSignal): void {
    if (signal.kind === 'message.added') {
      this.chain = this.chain.then(() => this.order(signal.message)).catch((e: unknown) => {
        // `last` did not move: the next event (or a resync) reads this one from the database.
        this.logger.warn({ err: e, room: this.room }, 'gap fill failed');
      });
      return;
    }
    for (const l of this.signalListeners) l(signal);
  }

  /** Re-reads what may have been missed (after a Redis reconnect): emits stored messages past `last`. */
  resync(): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        const newest = await this.history.lastSeq(this.room);
        if (newest > this.last) await this.fill(newest);
      })
      .catch((e: unknown) => this.logger.warn({ err: e, room: this.room }, 'resync failed'));
    return this.chain;
  }

  private async order(m: MessageView): Promise<void> {
    if (m.seq <= this.last) return;
    if (m.seq > this.last + 1) await this.fill(m.seq - 1);
    if (m.seq <= this.last) return;
    this.emit(m);
  }

  private async fill(upTo: number): Promise<void> {
    while (this.last < upTo) {
      const missing = await this.history.between(this.room, this.last, upTo, REPLAY_PAGE);
      if (missing.length === 0) throw new Error(`room ${this.room}: seq ${this.last + 1}..${upTo} not in the database`);
      for (const x of missing) if (x.seq === this.last + 1) this.emit(x);
    }
  }

  private emit(m: MessageView): void {
    this.last = m.seq;
    for (const l of this.messageListeners) l(m);
  }

  /** Attaches a listener and returns the seq it will continue after (atomically, same tick). */
  attachMessages(listener: MessageListener): number {
    this.messageListeners.add(listener);
    return this.last;
  }

  detachMessages(listener: MessageListener): void {
    this.messageListeners.delete(listener);
  }

  attachSignals(listener: SignalListener): void {
    this.signalListeners.add(listener);
  }

  detachSignals(listener: SignalListener): void {
    this.signalListeners.delete(listener);
  }
}

/** The room hubs of one gateway process, reference-counted: the last listener out unsubscribes. */
export class RoomHubs {
  private readonly hubs = new Map<string, Promise<RoomHub>>();
  private readonly unsubscribing = new Set<Promise<void>>();

  constructor(
    private readonly source: RoomSignalSource,
    private readonly history: HistoryReader,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.hubs.size;
  }

  async acquire(room: string): Promise<RoomHub> {
    let pending = this.hubs.get(room);
    if (!pending) {
      pending = this.open(room);
      this.hubs.set(room, pending);
      pending.catch(() => this.hubs.delete(room));
    }
    const hub = await pending;
    hub.refs++;
    return hub;
  }

  release(hub: RoomHub): void {
    hub.refs--;
    if (hub.refs > 0) return;
    this.hubs.delete(hub.room);
    const done = (hub.unsubscribe?.() ?? Promise.resolve())
      .catch((e: unknown) => this.logger.warn({ err: e, room: hub.room }, 'unsubscribe failed'))
      .finally(() => this.unsubscribing.delete(done));
    this.unsubscribing.add(done);
  }

  /**
   * Resolves once every hub is released and unsubscribed (subscribers end asynchronously after
   * their sockets close), or after `timeoutMs`: shutdown closes Redis only after this.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.hubs.size > 0 || this.unsubscribing.size > 0) && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.unsubscribing]), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /** After the signal source reconnected: every hub re-reads what it may have missed. */
  async resyncAll(): Promise<void> {
    const hubs = await Promise.allSettled([...this.hubs.values()]);
    await Promise.all(hubs.flatMap((h) => (h.status === 'fulfilled' ? [h.value.resync()] : [])));
  }

  private async open(room: string): Promise<RoomHub> {
    const hub = new RoomHub(room, this.history, this.logger);
    // Subscribe first, then read where the room stands: nothing published in between is lost,
    // because anything at or below `last` is dropped and anything above it is in order.
    let ready = false;
    const early: RoomSignal[] = [];
    hub.unsubscribe = await this.source.subscribe(room, (s) => (ready ? hub.onSignal(s) : early.push(s)));
    try {
      hub.last = await this.history.lastSeq(room);
    } catch (e) {
      await hub.unsubscribe();
      throw e;
    }
    ready = true;
    for (const s of early) hub.onSignal(s);
    return hub;
  }

  /**
   * The ordered message stream of one subscriber: with `after`, first every stored message
   * with seq > after, then live ones, each exactly once and in order. Live events that arrive
   * during the replay are buffered and deduplicated at the seam.
   */
  messages(room: string, after: number | null | undefined, presence?: RoomPresence, slow?: SlowConsumerPolicy): LiveStream<MessageView> {
    return new LiveStream<MessageView>(async (stream) => {
      const hub = await this.acquire(room);
      let delivered = 0;
      // Live events that arrive during the replay; dropped once it is done.
      let buffered: MessageView[] | undefined = [];
      const deliver = (m: MessageView) => {
        if (m.seq <= delivered) return;
        delivered = m.seq;
        if (stream.handoff && stream.waiting) {
          stream.handoff(m);
          return;
        }
        if (slow && stream.pending >= slow.maxPending) {
          slow.onSlow();
          stream.finish();
          return;
        }
        stream.push(m);
      };
      const listener: MessageListener = (m) => (buffered ? buffered.push(m) : deliver(m));
      const cleanup = async () => {
        hub.detachMessages(listener);
        this.release(hub);
        await presence?.leave();
      };
      try {
        await presence?.enter();
        const snapshot = hub.attachMessages(listener);
        delivered = after ?? snapshot;
        while (delivered < snapshot && !stream.closed) {
          const page = await this.history.between(room, delivered, snapshot, REPLAY_PAGE);
          if (page.length === 0) break;
          for (const m of page) {
            if (m.seq <= delivered) continue;
            delivered = m.seq;
            stream.push(m);
          }
          // One page in memory at a time: the next is read once the consumer took this one.
          await stream.drained();
        }
        const seam = buffered;
        buffered = undefined;
        for (const m of seam) deliver(m);
        return cleanup;
      } catch (e) {
        await cleanup();
        throw e;
      }
    });
  }

  /** Non-message signals of one kind (updates, presence, typing), unordered. */
  signals<K extends RoomSignal['kind']>(
    room: string,
    kind: K,
    presence?: RoomPresence,
    accept: (s: Extract<RoomSignal, { kind: K }>) => boolean = () => true,
  ): LiveStream<Extract<RoomSignal, { kind: K }>> {
    type S = Extract<RoomSignal, { kind: K }>;
    return new LiveStream<S>(async (stream) => {
      const hub = await this.acquire(room);
      const listener: SignalListener = (s) => {
        if (s.kind !== kind || !accept(s as S)) return;
        if (stream.handoff && stream.waiting) stream.handoff(s as S);
        else stream.push(s as S);
      };
      hub.attachSignals(listener);
      const cleanup = async () => {
        hub.detachSignals(listener);
        this.release(hub);
        await presence?.leave();
      };
      try {
        await presence?.enter();
      } catch (e) {
        await cleanup();
        throw e;
      }
      return cleanup;
    });
  }
}

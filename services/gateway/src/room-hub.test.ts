import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { MessageView, RoomSignal } from '@conversa/contracts';
import { RoomHubs, type HistoryReader, type RoomSignalSource } from './room-hub.js';

const logger = pino({ level: 'silent' });
const author = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const msg = (room: string, seq: number): MessageView => ({
  id: `${room}-${seq}`,
  room,
  seq,
  author,
  body: `m${seq}`,
  status: 'VISIBLE',
  clientMsgId: `c${seq}`,
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  pinned: false,
});

/** An in-memory room: `store` is the database, `emit` is pub/sub (which may reorder or drop). */
function fakeRoom() {
  const stored = new Map<string, MessageView[]>();
  const listeners = new Map<string, Set<(s: RoomSignal) => void>>();
  let subscribes = 0;
  let reads = 0;
  const source: RoomSignalSource = {
    subscribe(room, on) {
      subscribes++;
      const set = listeners.get(room) ?? new Set();
      set.add(on);
      listeners.set(room, set);
      return Promise.resolve(() => {
        set.delete(on);
        return Promise.resolve();
      });
    },
  };
  const history: HistoryReader = {
    lastSeq: (room) => Promise.resolve(stored.get(room)?.at(-1)?.seq ?? 0),
    between: (room, after, upTo, limit) => {
      reads++;
      return Promise.resolve((stored.get(room) ?? []).filter((m) => m.seq > after && m.seq <= upTo).slice(0, limit));
    },
  };
  return {
    source,
    history,
    store(room: string, seq: number) {
      const list = stored.get(room) ?? [];
      list.push(msg(room, seq));
      stored.set(room, list);
    },
    emit(room: string, seq: number) {
      for (const l of listeners.get(room) ?? []) l({ kind: 'message.added', message: msg(room, seq) });
    },
    listenerCount: (room: string) => listeners.get(room)?.size ?? 0,
    get subscribes() {
      return subscribes;
    },
    get reads() {
      return reads;
    },
  };
}

async function take(it: AsyncIterator<MessageView>, n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value.seq);
  }
  return out;
}

describe('RoomHubs', () => {
  it('replays stored messages after `after`, then goes live, with nothing twice at the seam', async () => {
    const f = fakeRoom();
    for (let s = 1; s <= 5; s++) f.store('r', s);
    const hubs = new RoomHubs(f.source, f.history, logger);
    const it = hubs.messages('r', 2)[Symbol.asyncIterator]();
    const first = take(it, 3);
    expect(await first).toEqual([3, 4, 5]);
    f.store('r', 6);
    f.emit('r', 6);
    f.emit('r', 6); // a duplicate publish
    f.store('r', 7);
    f.emit('r', 7);
    expect(await take(it, 2)).toEqual([6, 7]);
    await it.return?.();
  });

  it('fills a gap from the database when pub/sub skipped or reordered messages', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    const it = hubs.messages('r', 0)[Symbol.asyncIterator]();
    const pending = take(it, 4);
    await Promise.resolve();
    for (let s = 1; s <= 4; s++) f.store('r', s);
    await new Promise((r) => setImmediate(r));
    f.emit('r', 3); // 1 and 2 were never published here, 4 comes before... nothing: order repaired
    f.emit('r', 1);
    f.emit('r', 4);
    f.emit('r', 2);
    expect(await pending).toEqual([1, 2, 3, 4]);
    await it.return?.();
  });

  it('holds one source subscription per room however many subscribers, and drops it after the last', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    const a = hubs.messages('r', 0)[Symbol.asyncIterator]();
    const b = hubs.messages('r', 0)[Symbol.asyncIterator]();
    const pa = take(a, 1);
    const pb = take(b, 1);
    await new Promise((r) => setImmediate(r));
    f.store('r', 1);
    f.emit('r', 1);
    expect(await pa).toEqual([1]);
    expect(await pb).toEqual([1]);
    expect(f.subscribes).toBe(1);
    expect(f.listenerCount('r')).toBe(1);
    await a.return?.();
    expect(f.listenerCount('r')).toBe(1);
    await b.return?.();
    expect(f.listenerCount('r')).toBe(0);
    expect(hubs.size).toBe(0);
  });

  it('gives a subscriber whose `after` lies ahead only messages past it', async () => {
    const f = fakeRoom();
    f.store('r', 1);
    const hubs = new RoomHubs(f.source, f.history, logger);
    const it = hubs.messages('r', 3)[Symbol.asyncIterator]();
    const p = take(it, 1);
    await new Promise((r) => setImmediate(r));
    for (let s = 2; s <= 4; s++) {
      f.store('r', s);
      f.emit('r', s);
    }
    expect(await p).toEqual([4]);
    await it.return?.();
  });

  it('recovers what was published while the source was disconnected on resync', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    const it = hubs.messages('r', 0)[Symbol.asyncIterator]();
    const p = take(it, 2);
    await new Promise((r) => setImmediate(r));
    f.store('r', 1);
    f.store('r', 2); // both published while disconnected: never seen live
    await hubs.resyncAll();
    expect(await p).toEqual([1, 2]);
    await it.return?.();
  });
});

describe('slow consumers', () => {
  it('ends the stream of a subscriber that lets too many messages wait, and calls onSlow once', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    let slow = 0;
    const it = hubs.messages('r', 0, undefined, { maxPending: 3, onSlow: () => slow++ })[Symbol.asyncIterator]();
    const first = it.next(); // starts the stream; the subscriber then stops reading
    await new Promise((r) => setImmediate(r));
    for (let s = 1; s <= 6; s++) {
      f.store('r', s);
      f.emit('r', s);
      await new Promise((r) => setImmediate(r));
    }
    expect((await first).value?.seq).toBe(1);
    expect(slow).toBe(1);
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.seq);
    expect(rest.length).toBeLessThanOrEqual(3);
    expect(hubs.size).toBe(0);
  });

  it('hands live messages to a consumer that takes them directly, once the replay is drained, in order', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    for (const seq of [1, 2, 3]) f.store('r', seq);
    const stream = hubs.messages('r', 0);
    const got: string[] = [];
    stream.handoff = (m) => got.push(`handoff ${m.seq}`);
    const it = stream[Symbol.asyncIterator]();
    // The consumer's loop pulls what the stream queues (the replay) until it ends.
    const loop = (async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) got.push(`pull ${r.value.seq}`);
    })();
    await settle(() => got.length === 3);
    for (const seq of [4, 5]) {
      f.store('r', seq);
      f.emit('r', seq);
    }
    await settle(() => got.length === 5);
    expect(got).toEqual(['pull 1', 'pull 2', 'pull 3', 'handoff 4', 'handoff 5']);
    await it.return?.();
    await loop;
    expect(hubs.size).toBe(0);
  });

  it('does not hand a live message over while the consumer still handles one it pulled', async () => {
    const f = fakeRoom();
    const hubs = new RoomHubs(f.source, f.history, logger);
    f.store('r', 1);
    const stream = hubs.messages('r', 0);
    const got: string[] = [];
    stream.handoff = (m) => got.push(`handoff ${m.seq}`);
    const it = stream[Symbol.asyncIterator]();
    // The consumer pulls 1 and takes a while with it (an asynchronous rendering): 2 arrives then.
    let release!: () => void;
    const handling = new Promise<void>((r) => (release = r));
    const loop = (async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (r.value.seq === 1) await handling;
        got.push(`pull ${r.value.seq}`);
      }
    })();
    await settle(() => !stream.waiting && f.listenerCount('r') === 1);
    f.store('r', 2);
    f.emit('r', 2);
    release();
    await settle(() => got.length === 2);
    expect(got).toEqual(['pull 1', 'pull 2']);
    // Once it waits again, live messages go straight to it.
    f.store('r', 3);
    await settle(() => stream.waiting);
    f.emit('r', 3);
    await settle(() => got.length === 3);
    expect(got).toEqual(['pull 1', 'pull 2', 'handoff 3']);
    await it.return?.();
    await loop;
  });
});

async function settle(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setImmediate(r));
  }
}

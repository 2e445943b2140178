import { describe, expect, it } from 'vitest';
import type { InboxEvent, InboxRoom } from '../queries.js';
import { InboxState } from './inbox-state.js';

const ann = { id: 'u-ann', username: 'ann', displayName: 'Ann' };
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString();

const room = (id: string, o: Partial<InboxRoom> & { lastAt?: number } = {}): InboxRoom => ({
  id,
  name: id,
  kind: 'PUBLIC',
  createdAt: at(0),
  lastReadSeq: 0,
  unread: 0,
  mentions: 0,
  lastMessage:
    o.lastAt === undefined ? null : { seq: 1, body: 'hi', createdAt: at(o.lastAt), author: ann },
  ...o,
});
const message = (r: InboxRoom, minute: number, unread: number): InboxEvent => ({
  kind: 'MESSAGE',
  room: {
    ...r,
    unread,
    lastMessage: { seq: unread, body: 'new', createdAt: at(minute), author: ann },
  },
  message: { seq: unread, createdAt: at(minute) },
});

describe('InboxState', () => {
  it('orders the rooms by activity, newest first, and moves a room up on a new message', () => {
    const s = new InboxState();
    s.beginRead();
    s.finishRead([room('b', { lastAt: 5 }), room('a', { lastAt: 3 }), room('c')]);
    expect(s.rooms().map((r) => r.id)).toEqual(['b', 'a', 'c']);
    expect(s.apply(message(room('c'), 9, 1))).toBe(true);
    expect(s.rooms().map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(s.totals()).toEqual({ unread: 1, mentions: 0 });
  });

  it('takes each event as the whole state of its room: a read clears the badge, removal drops it', () => {
    const s = new InboxState();
    s.beginRead();
    s.finishRead([room('a', { unread: 3, mentions: 1, lastAt: 2 })]);
    expect(s.totals()).toEqual({ unread: 3, mentions: 1 });
    s.apply({ kind: 'READ', room: room('a', { lastReadSeq: 3, lastAt: 2 }), message: null });
    expect(s.get('a')).toMatchObject({ unread: 0, mentions: 0, lastReadSeq: 3 });
    s.apply({ kind: 'ADDED', room: room('g', { kind: 'GROUP', createdAt: at(7) }), message: null });
    expect(s.rooms().map((r) => r.id)).toEqual(['g', 'a']);
    s.apply({ kind: 'REMOVED', room: room('a'), message: null });
    expect(s.rooms().map((r) => r.id)).toEqual(['g']);
    expect(s.has('a')).toBe(false);
  });

  it('holds back the events of a read and applies them after its pages, in order', () => {
    const s = new InboxState();
    s.beginRead();
    // Came while the pages were on their way: the pages may or may not include them.
    expect(s.apply(message(room('a'), 4, 1))).toBe(false);
    expect(s.apply(message(room('a'), 5, 2))).toBe(false);
    expect(s.rooms()).toEqual([]);
    s.finishRead([room('a', { unread: 1, lastAt: 4 }), room('b', { lastAt: 1 })]);
    expect(s.loaded).toBe(true);
    expect(s.get('a')?.unread).toBe(2);
    expect(s.rooms().map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('rereads after a reconnect: the pages replace what was there, events since then still apply', () => {
    const s = new InboxState();
    s.beginRead();
    s.finishRead([room('a', { unread: 1, lastAt: 1 }), room('gone', { lastAt: 0 })]);
    s.beginRead();
    s.apply({ kind: 'READ', room: room('b', { lastAt: 6 }), message: null });
    // A second read begun before the first ended (two reconnects): one set of held events.
    s.beginRead();
    s.finishRead([room('a', { unread: 4, lastAt: 3 }), room('b', { unread: 2, lastAt: 6 })]);
    expect(s.rooms().map((r) => [r.id, r.unread])).toEqual([
      ['b', 0],
      ['a', 4],
    ]);
  });

  it('applies the held events to the list as it was when a read fails', () => {
    const s = new InboxState();
    s.beginRead();
    s.apply(message(room('a'), 2, 1));
    s.abortRead();
    expect(s.loaded).toBe(false);
    expect(s.get('a')?.unread).toBe(1);
    expect(s.apply(message(room('a'), 3, 2))).toBe(true);
  });

  it('keeps a room where it was when its newest message goes away', () => {
    const s = new InboxState();
    s.beginRead();
    s.finishRead([room('a', { lastAt: 9 }), room('b', { lastAt: 5 })]);
    s.apply({ kind: 'UPDATED', room: room('a', { lastAt: 1 }), message: null });
    expect(s.rooms().map((r) => r.id)).toEqual(['a', 'b']);
    expect(s.totals('a')).toEqual({ unread: 0, mentions: 0 });
  });
});

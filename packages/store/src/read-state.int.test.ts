import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { messageId } from './messages.js';
import { roomCounts } from './read-state.js';
import type { Store } from './store.js';
import { draft, dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;
const room = () => `r-${randomUUID().slice(0, 8)}`;
const changedEvent = (r: string) => newEvent('room.joined', r, 'u1', { room: r, user: 'u1' });

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('room activity kept by the message writes', () => {
  it('follows inserts, one by one and in batches, and never moves back', async () => {
    const r = room();
    await store.messages.insert(draft(r, 1, 'u1', 'a'));
    expect(await store.readState.activity(r)).toMatchObject({ lastSeq: 1, last: { seq: 1, authorId: 'u1' }, gone: [] });
    await store.messages.insertBatch([draft(r, 2, 'u2', 'b'), draft(r, 3, 'u3', 'c')]);
    expect(await store.readState.activity(r)).toMatchObject({ lastSeq: 3, last: { seq: 3, authorId: 'u3' } });
    // A late "posted" of an older message (a retried send) changes nothing.
    const old = await store.messages.findById(messageId(r, 2));
    await store.readState.posted(old!);
    expect(await store.readState.activity(r)).toMatchObject({ lastSeq: 3, last: { seq: 3 } });
  });

  it('stops counting a hidden or deleted message, hands the last message back, and counts an unhidden one again', async () => {
    const r = room();
    for (let s = 1; s <= 4; s++) await store.messages.insert(draft(r, s, 'u1', `c${s}`));
    await store.messages.update(messageId(r, 3), ['VISIBLE'], { status: 'HIDDEN' }, changedEvent(r));
    await store.messages.update(messageId(r, 4), ['VISIBLE'], { status: 'DELETED', body: '' }, changedEvent(r));
    let a = await store.readState.activity(r);
    expect(a).toMatchObject({ lastSeq: 4, gone: [3, 4], last: { seq: 2 } });
    expect(roomCounts(a, 1, [])).toMatchObject({ unread: 1 });
    await store.messages.update(messageId(r, 3), ['HIDDEN'], { status: 'VISIBLE' }, changedEvent(r));
    a = await store.readState.activity(r);
    expect(a).toMatchObject({ gone: [4], last: { seq: 3 } });
    expect(roomCounts(a, 1, [])).toMatchObject({ unread: 2 });
    // An edit of the last message shows in the room list.
    await store.messages.update(messageId(r, 3), ['VISIBLE'], { body: 'edited' }, changedEvent(r));
    expect(await store.readState.activity(r)).toMatchObject({ last: { seq: 3, body: 'edited' } });
  });
});

describe('read positions', () => {
  it('move up only, also when raced', async () => {
    const r = room();
    expect(await store.readState.advance(r, 'u1', 5)).toBe(true);
    expect(await store.readState.advance(r, 'u1', 3)).toBe(false);
    await Promise.all([2, 9, 4, 7, 8, 6].map((s) => store.readState.advance(r, 'u1', s)));
    expect(await store.readState.position(r, 'u1')).toMatchObject({ lastReadSeq: 9 });
    expect((await store.readState.positionsOf('u1')).map((p) => p.room)).toEqual([r]);
  });

  it('keep a person\'s unread mentions until they read past them', async () => {
    const r = room();
    await store.readState.mentioned(r, 2, ['u1', 'u2']);
    await store.readState.mentioned(r, 2, ['u1']); // a retried send
    await store.readState.mentioned(r, 5, ['u1']);
    expect((await store.readState.mentionsOf('u1')).map((m) => m.seq).sort()).toEqual([2, 5]);
    await store.readState.readMentions(r, 'u1', 3);
    expect((await store.readState.mentionsOf('u1')).map((m) => m.seq)).toEqual([5]);
    expect((await store.readState.mentionsOf('u2')).map((m) => m.seq)).toEqual([2]);
  });
});

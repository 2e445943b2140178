import { describe, expect, it } from 'vitest';
import { MessageLog, displayBody, type ChatMessage } from './messages.js';

const ann = { id: 'u1', username: 'ann', displayName: 'Ann' };
const msg = (seq: number, over: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `m${seq}`,
  room: 'general',
  seq,
  body: `body ${seq}`,
  status: 'VISIBLE',
  clientMsgId: `c${seq}`,
  createdAt: '2025-03-12T10:00:00.000Z',
  editedAt: null,
  author: ann,
  ...over,
});
const seqs = (log: MessageLog) => log.list().map((m) => m.seq);

describe('MessageLog', () => {
  it('merges pages and live messages by seq, in order, each once', () => {
    const log = new MessageLog();
    expect(log.add([msg(4), msg(5), msg(6)], { ordered: true }).added.map((m) => m.seq)).toEqual([
      4, 5, 6,
    ]);
    // The resumed stream replays what the page already had, then goes on.
    expect(log.add([msg(5), msg(6), msg(7)], { ordered: true }).added.map((m) => m.seq)).toEqual([
      7,
    ]);
    // An older page arrives later: prepended.
    expect(log.add([msg(1), msg(2), msg(3)], { ordered: true }).added.map((m) => m.seq)).toEqual([
      1, 2, 3,
    ]);
    expect(seqs(log)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.firstSeq).toBe(1);
    expect(log.lastSeq).toBe(7);
    expect(log.streamSeq).toBe(7);
  });

  it('resumes after the last seq of an ordered source, not after a mutation result', () => {
    const log = new MessageLog();
    log.add([msg(1), msg(2)], { ordered: true });
    // My own send came back as seq 4 while seq 3 (someone else's) is still on its way.
    log.add([msg(4)], { ordered: false });
    expect(log.streamSeq).toBe(2);
    expect(log.lastSeq).toBe(4);
    // The stream then delivers 3 and 4: 4 is not doubled.
    expect(log.add([msg(3), msg(4)], { ordered: true }).added.map((m) => m.seq)).toEqual([3]);
    expect(seqs(log)).toEqual([1, 2, 3, 4]);
    expect(log.streamSeq).toBe(4);
  });

  it('starts from zero for an empty room', () => {
    const log = new MessageLog();
    expect(log.streamSeq).toBe(0);
    expect(log.firstSeq).toBeUndefined();
    expect(log.lastSeq).toBe(0);
  });

  it('never lets an added copy overwrite a stored message, but applies updates', () => {
    const log = new MessageLog();
    log.add([msg(1)], { ordered: true });
    const edited = msg(1, { body: 'edited', editedAt: '2025-03-12T10:01:00.000Z' });
    expect(log.add([msg(1, { body: 'stale' })], { ordered: true }).added).toEqual([]);
    expect(log.update([edited]).updated).toEqual([edited]);
    expect(log.get(1)?.body).toBe('edited');
    // The same state again is no change; an unknown message is not added by an update.
    expect(log.update([edited, msg(9)]).updated).toEqual([]);
    expect(log.size).toBe(1);
    const deleted = msg(1, { body: '', status: 'DELETED' });
    expect(log.update([deleted]).updated.map((m) => m.status)).toEqual(['DELETED']);
    expect(log.findById('m1')?.status).toBe('DELETED');
  });

  it('takes reply counts and reactions as changes, the latest state replacing the stored one', () => {
    const log = new MessageLog();
    log.add([msg(1, { replyCount: 0, reactions: [] })], { ordered: true });
    const replied = msg(1, {
      replyCount: 1,
      lastReplyAt: '2025-03-12T10:02:00.000Z',
      reactions: [],
    });
    expect(log.update([replied]).updated).toEqual([replied]);
    const thumbs = {
      emoji: '👍',
      count: 2,
      reactedByMe: true,
      users: [{ id: 'u2', displayName: 'Ben' }],
    };
    const reacted = { ...replied, reactions: [thumbs] };
    expect(log.update([reacted]).updated).toEqual([reacted]);
    expect(log.update([{ ...reacted, reactions: [{ ...thumbs }] }]).updated).toEqual([]);
    // A coalesced update with an older count is still the latest word: applied as it is.
    const fewer = { ...reacted, reactions: [{ ...thumbs, count: 1, reactedByMe: false }] };
    expect(log.update([fewer]).updated).toEqual([fewer]);
    expect(log.get(1)?.reactions?.[0]?.count).toBe(1);
  });

  it('takes a pin and an unpin as changes (the pin marker is shown)', () => {
    const log = new MessageLog();
    log.add([msg(1, { pinned: false })], { ordered: true });
    const pinned = msg(1, { pinned: true });
    expect(log.update([pinned]).updated).toEqual([pinned]);
    expect(log.update([msg(1, { pinned: true })]).updated).toEqual([]);
    expect(log.update([msg(1, { pinned: false })]).updated.map((m) => m.pinned)).toEqual([false]);
    // A copy without the field (a search hit's selection) reads as not pinned.
    expect(log.update([msg(1)]).updated).toEqual([]);
  });

  it('keeps pending sends until the message arrives by its clientMsgId', () => {
    const log = new MessageLog();
    log.addPending({
      clientMsgId: 'c7',
      body: 'hello',
      createdAt: '2025-03-12T10:00:00.000Z',
      state: 'sending',
    });
    log.setPending('c7', 'failed', 'offline');
    expect(log.getPending('c7')).toMatchObject({ state: 'failed', error: 'offline' });
    expect(log.pending()).toHaveLength(1);
    log.add([msg(7, { clientMsgId: 'c7' })], { ordered: true });
    expect(log.pending()).toEqual([]);
    expect(log.hasClientMsgId('c7')).toBe(true);
    log.setPending('c7', 'sending'); // gone: no-op
    expect(log.pending()).toEqual([]);
  });
});

describe('displayBody', () => {
  it('shows placeholders instead of hidden and deleted bodies', () => {
    expect(displayBody({ status: 'VISIBLE', body: '<b>hi</b>' })).toEqual({
      text: '<b>hi</b>',
      placeholder: false,
    });
    expect(displayBody({ status: 'DELETED', body: '' })).toEqual({
      text: 'message deleted',
      placeholder: true,
    });
    expect(displayBody({ status: 'HIDDEN', body: 'rude' })).toEqual({
      text: 'message hidden by a moderator',
      placeholder: true,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { roomCounts } from './read-state.js';

const activity = (lastSeq: number, gone: number[] = [], roomMentions: number[] = []) => ({ lastSeq, gone, roomMentions });

describe('roomCounts', () => {
  it('counts the seqs after the read position, none in a room without activity', () => {
    expect(roomCounts(null, 0, [])).toEqual({ lastReadSeq: 0, unread: 0, mentions: 0 });
    expect(roomCounts(activity(10), 0, [])).toMatchObject({ unread: 10 });
    expect(roomCounts(activity(10), 7, [])).toMatchObject({ unread: 3 });
    expect(roomCounts(activity(10), 10, [])).toMatchObject({ unread: 0 });
  });

  it('leaves out hidden and deleted messages after the position, and ignores those before it', () => {
    expect(roomCounts(activity(10, [2, 8, 9]), 5, [])).toMatchObject({ unread: 3 });
    expect(roomCounts(activity(10, [1, 2, 3]), 5, [])).toMatchObject({ unread: 5 });
  });

  it('counts each unread mentioning message once, whether it names the reader, the room or both', () => {
    expect(roomCounts(activity(10, [], [6, 9]), 5, [6, 7, 3])).toMatchObject({ unread: 5, mentions: 3 });
  });

  it('does not count a mention that was read or is no longer VISIBLE', () => {
    expect(roomCounts(activity(10, [7], [4, 8]), 5, [7, 2])).toMatchObject({ unread: 4, mentions: 1 });
  });

  it('never goes below zero on inconsistent input', () => {
    expect(roomCounts(activity(3, [1, 2, 3, 4, 5]), 0, [])).toMatchObject({ unread: 0 });
  });
});

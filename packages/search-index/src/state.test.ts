import { describe, expect, it } from 'vitest';
import { fold, merge, stateOf, type MessageChange } from './state.js';
import { decodeCursor, encodeCursor, SearchCursorError } from './cursor.js';

const base = { id: 'r/1', room: 'r', seq: 1, authorId: 'u', createdAt: new Date(1_000) };
const at = (ms: number) => new Date(ms);
const posted: MessageChange = { ...base, status: 'VISIBLE', body: 'hello', at: at(1_000) };
const edited: MessageChange = { ...base, status: 'VISIBLE', body: 'hello again', at: at(2_000) };
const hidden: MessageChange = { ...base, status: 'HIDDEN', body: '', at: at(3_000) };
const unhidden: MessageChange = { ...base, status: 'VISIBLE', body: 'hello again', at: at(4_000) };
const deleted: MessageChange = { ...base, status: 'DELETED', body: '', at: at(5_000) };

const seen = (changes: MessageChange[]) => {
  const [s] = fold(changes);
  return { status: s!.status, body: s!.body };
};

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('index state of a message', () => {
  it('keeps the newest status and the newest shown body, whatever the order of arrival', () => {
    for (const p of permutations([posted, edited, hidden])) expect(seen(p)).toEqual({ status: 'HIDDEN', body: 'hello again' });
    for (const p of permutations([posted, edited, hidden, unhidden])) expect(seen(p)).toEqual({ status: 'VISIBLE', body: 'hello again' });
  });

  it('makes a delete final, and empties the body', () => {
    for (const p of permutations([posted, edited, hidden, unhidden, deleted])) expect(seen(p)).toEqual({ status: 'DELETED', body: '' });
    expect(seen([deleted, { ...posted, at: at(9_000) }])).toEqual({ status: 'DELETED', body: '' });
  });

  it('is idempotent: a redelivered event changes nothing', () => {
    expect(seen([posted, edited, edited, posted])).toEqual(seen([posted, edited]));
    const s = stateOf(edited);
    expect(merge(s, s)).toEqual(s);
  });

  it('knows no body yet when only a hide arrived, and takes a rebuilt hidden body', () => {
    expect(seen([hidden])).toEqual({ status: 'HIDDEN', body: null });
    expect(seen([{ ...hidden, body: 'kept for admins', bodyKnown: true }])).toEqual({ status: 'HIDDEN', body: 'kept for admins' });
  });
});

describe('search cursors', () => {
  it('round-trip and refuse anything else', () => {
    const c = { rank: '0.060793', createdAt: new Date('2026-01-02T03:04:05.678Z'), id: 'r/9' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of ['', 'abc', Buffer.from('[1,2,3]').toString('base64url'), Buffer.from('["x","2020-01-01","a"]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(SearchCursorError);
    }
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSearchIndex } from './postgres.js';
import type { MessageChange } from './state.js';

/** Real PostgreSQL (infra/local: 127.0.0.1:54329); each run its own schema in conversa_search. */
const URL = process.env.SEARCH_PG_URL ?? 'postgres://conversa@127.0.0.1:54329/conversa_search';
const index = new PostgresSearchIndex({ url: URL, schema: `t_${randomUUID().replace(/-/g, '').slice(0, 12)}` });

let seq = 0;
const t0 = Date.parse('2026-01-01T00:00:00Z');
function msg(room: string, body: string, extra: Partial<MessageChange> = {}): MessageChange {
  seq++;
  const createdAt = new Date(t0 + seq * 1_000);
  return { id: `${room}/${seq}`, room, seq, authorId: 'u1', createdAt, status: 'VISIBLE', body, at: createdAt, ...extra };
}
const ALL = ['a', 'b', 'c', 'cjk', 'rank', 'page'];
const find = async (query: string, o: { rooms?: string[]; admin?: boolean; limit?: number } = {}) =>
  (await index.search({ query, rooms: o.rooms ?? ALL, statuses: o.admin ? ['VISIBLE', 'HIDDEN'] : ['VISIBLE'], limit: o.limit ?? 50 })).hits.map((h) => h.id);

const m = {
  deploy: msg('a', 'The deployment of v2 is scheduled for Friday'),
  deployed: msg('a', 'we deployed it yesterday'),
  cafe: msg('b', 'Meet me at the café at noon'),
  phrase: msg('b', 'please read the release notes first'),
  reversed: msg('b', 'notes about the release'),
  cjk: msg('cjk', '明天的会议取消了'),
  cjk2: msg('cjk', '会议室在三楼'),
  jp: msg('cjk', '東京で会いましょう'),
  ko: msg('cjk', '내일 회의가 취소되었습니다'),
  other: msg('c', 'deployment in a room you are not in'),
};

beforeAll(async () => {
  expect(await index.migrate()).toEqual({ created: true });
  expect(await index.migrate()).toEqual({ created: false });
  await index.index(Object.values(m));
});

afterAll(async () => {
  await index.drop();
  await index.close();
});

describe('PostgreSQL search index', () => {
  it('finds words and prefixes', async () => {
    expect(await find('friday', { rooms: ['a', 'b'] })).toEqual([m.deploy.id]);
    expect((await find('deplo', { rooms: ['a', 'b'] })).sort()).toEqual([m.deploy.id, m.deployed.id].sort());
    expect(await find('deployment scheduled', { rooms: ['a', 'b'] })).toEqual([m.deploy.id]);
    expect(await find('deployment nowhere', { rooms: ['a', 'b'] })).toEqual([]);
  });

  it('finds quoted phrases only in that order', async () => {
    expect(await find('"release notes"')).toEqual([m.phrase.id]);
    expect((await find('release notes')).sort()).toEqual([m.phrase.id, m.reversed.id].sort());
  });

  it('folds accents both ways', async () => {
    expect(await find('cafe')).toEqual([m.cafe.id]);
    expect(await find('CAFÉ')).toEqual([m.cafe.id]);
  });

  it('finds CJK substrings, single characters and phrases', async () => {
    expect((await find('会议')).sort()).toEqual([m.cjk.id, m.cjk2.id].sort());
    expect(await find('会议取消')).toEqual([m.cjk.id]);
    expect(await find('了')).toEqual([m.cjk.id]);
    expect(await find('東京')).toEqual([m.jp.id]);
    expect(await find('회의')).toEqual([m.ko.id]);
    expect(await find('取会')).toEqual([]);
  });

  it('searches only the given rooms', async () => {
    expect(await find('deployment', { rooms: ['c'] })).toEqual([m.other.id]);
    expect(await find('deployment', { rooms: [] })).toEqual([]);
    expect(await find('deployment', { rooms: ['nope'] })).toEqual([]);
  });

  it('never returns DELETED; HIDDEN only to admins, with the body kept; unhide brings it back', async () => {
    const h = msg('a', 'secret handshake');
    await index.index([h]);
    expect(await find('handshake')).toEqual([h.id]);
    await index.index([{ ...h, status: 'HIDDEN', body: '', at: new Date(+h.at + 10) }]);
    expect(await find('handshake')).toEqual([]);
    expect(await find('handshake', { admin: true })).toEqual([h.id]);
    await index.index([{ ...h, status: 'VISIBLE', at: new Date(+h.at + 20) }]);
    expect(await find('handshake')).toEqual([h.id]);
    await index.remove([{ ...h, at: new Date(+h.at + 30) }]);
    expect(await find('handshake', { admin: true })).toEqual([]);
    // A redelivered older event after the delete brings nothing back.
    await index.index([h, { ...h, status: 'VISIBLE', at: new Date(+h.at + 40) }]);
    expect(await find('handshake', { admin: true })).toEqual([]);
    expect(await index.get(h.id)).toMatchObject({ status: 'DELETED', body: '' });
  });

  it('re-indexes an edit, and ignores an older event that arrives after it', async () => {
    const e = msg('a', 'first draft of the plan');
    await index.index([e]);
    await index.index([{ ...e, body: 'final version of the plan', at: new Date(+e.at + 10) }]);
    expect(await find('draft')).toEqual([]);
    expect(await find('final')).toEqual([e.id]);
    await index.index([e]); // the posted event again
    expect(await find('draft')).toEqual([]);
    expect(await find('final')).toEqual([e.id]);
  });

  it('takes the body of a message whose hide arrived before its post (reordered)', async () => {
    const r = msg('a', 'reordered zebra');
    await index.index([{ ...r, status: 'HIDDEN', body: '', at: new Date(+r.at + 10) }]);
    expect(await find('zebra', { admin: true })).toEqual([]);
    await index.index([r]);
    expect(await find('zebra')).toEqual([]);
    expect(await find('zebra', { admin: true })).toEqual([r.id]);
  });

  it('ranks better matches first, then newest', async () => {
    const once = msg('rank', 'kiwi and other fruit salad with melon and grapes');
    const twice = msg('rank', 'kiwi kiwi');
    const older = msg('rank', 'kiwi', { createdAt: new Date(t0), at: new Date(t0) });
    const newer = msg('rank', 'kiwi');
    const prefixOnly = msg('rank', 'kiwifruit');
    await index.index([once, twice, older, newer, prefixOnly]);
    const ids = await find('kiwi', { rooms: ['rank'] });
    // Equal ranks newest first; a whole word before a word it only begins (same length); a
    // message about it before a long one that mentions it in passing.
    expect(ids.slice(0, 3)).toEqual([newer.id, older.id, twice.id]);
    expect(ids.indexOf(prefixOnly.id)).toBeGreaterThan(ids.indexOf(twice.id));
    expect(ids).toHaveLength(5);
  });

  it('pages with an opaque cursor, without gaps or repeats', async () => {
    const docs = Array.from({ length: 23 }, (_, i) => msg('page', `paging test ${i % 3 === 0 ? 'paging' : ''} item`));
    await index.index(docs);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const p: Awaited<ReturnType<typeof index.search>> = await index.search({ query: 'paging', rooms: ['page'], statuses: ['VISIBLE'], limit: 5, after });
      seen.push(...p.hits.map((h) => h.id));
      after = p.nextCursor;
      pages++;
    } while (after);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(23);
    expect(seen.sort()).toEqual(docs.map((d) => d.id).sort());
  });

  it('treats operator characters in a query as separators, never as SQL or tsquery syntax', async () => {
    expect(await find("'); DROP TABLE messages; -- & | ! <-> :* \\")).toEqual([]);
    expect(await find('friday)')).toEqual([m.deploy.id]);
  });
});

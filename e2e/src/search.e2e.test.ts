import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, eventually, gql, gqlOk, register, startSystem, type Session, type System } from './harness.js';

/**
 * Search through the real system: chat stores and publishes, the search indexer (its own
 * consumer group) keeps the index in PostgreSQL, the gateway answers Query.search from it with
 * the caller's rooms and each hit's status read from the store at query time.
 */
const SEARCH = `query($q: String!, $room: ID, $after: String, $limit: Int) {
  search(query: $q, room: $room, after: $after, limit: $limit) { hits { snippet message { id room body status author { id } } } nextCursor } }`;
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';

interface Hit {
  snippet: string;
  message: { id: string; room: string; body: string; status: string; author: { id: string } };
}

describe('search', () => {
  let sys: System;
  let url: string;
  let ann: Session;
  let ben: Session;
  let cat: Session;
  let admin: string;
  const tag = randomUUID().slice(0, 6);
  const general = `search-${tag}`;
  const other = `elsewhere-${tag}`;
  let n = 0;
  const send = async (who: Session, r: string, body: string) => (await gqlOk<{ sendMessage: { id: string } }>(url, SEND, { r, b: body, c: `c-${tag}-${n++}` }, who.token)).sendMessage.id;
  const search = async (token: string, q: string, vars: { room?: string; after?: string; limit?: number } = {}) =>
    (await gqlOk<{ search: { hits: Hit[]; nextCursor: string | null } }>(url, SEARCH, { q, ...vars }, token)).search;
  const ids = async (token: string, q: string, vars: { room?: string } = {}) => (await search(token, q, vars)).hits.map((h) => h.message.id);
  /** Waits (with a timeout) until `q` finds `id` for `token`, or stops finding it. */
  const findable = (token: string, q: string, id: string, present = true) =>
    eventually(`${q} ${present ? 'finds' : 'no longer finds'} ${id}`, async () => ((await ids(token, q)).includes(id) === present ? true : undefined), 30_000);

  beforeAll(async () => {
    sys = await startSystem({ searches: 1 });
    url = sys.gateways[0]!.http;
    [ann, ben, cat] = await Promise.all([register(url, `ann_${tag}`, 'Ann'), register(url, `ben_${tag}`, 'Ben'), register(url, `cat_${tag}`, 'Cat')]);
    for (const who of [ann, ben]) await gqlOk(url, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: general }, who.token);
    await gqlOk(url, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: other }, cat.token);
    const name = `admin_${tag}`;
    expect((await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1'])).code).toBe(0);
    admin = (await gqlOk<{ login: { token: string } }>(url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login
      .token;
    await gqlOk(url, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: general }, admin);
  }, 180_000);

  afterAll(async () => {
    await sys?.stop();
  });

  it('finds a posted message by word prefix and phrase, with its snippet; a misordered phrase finds nothing', async () => {
    const id = await send(ann, general, 'The deployment of the new release is scheduled for Friday');
    await findable(ben.token, 'deplo', id);
    const { hits } = await search(ben.token, 'deplo');
    expect(hits[0]).toMatchObject({ message: { id, room: general, status: 'VISIBLE', author: { id: ann.user.id } } });
    expect(hits[0]!.snippet).toContain('deployment');
    expect(await ids(ben.token, '"release is scheduled"')).toEqual([id]);
    expect(await ids(ben.token, '"scheduled release"')).toEqual([]);
    expect(await ids(ben.token, 'FRIDAY deploy')).toEqual([id]);
  });

  it('finds CJK text by a substring, and accents folded', async () => {
    const cjk = await send(ben, general, '明天的会议取消了');
    const cafe = await send(ben, general, 'On se retrouve au café ?');
    await findable(ann.token, '会议', cjk);
    await findable(ann.token, 'cafe', cafe);
    expect((await search(ann.token, '会议')).hits[0]!.snippet).toBe('明天的会议取消了');
  });

  it('never searches a room the caller never joined, and `room` narrows to one room', async () => {
    const secret = await send(cat, other, 'deployment keys for the vault');
    await findable(cat.token, 'vault', secret);
    expect(await ids(ann.token, 'vault')).toEqual([]);
    expect(await ids(ann.token, 'vault', { room: other })).toEqual([]);
    const mine = await send(ann, general, 'vault of the general room');
    await findable(ann.token, 'vault', mine);
    expect(await ids(ann.token, 'vault')).toEqual([mine]);
    expect(await ids(cat.token, 'vault', { room: other })).toEqual([secret]);
  });

  it('hides from people (admins still find it), finds again after unhide, re-indexes an edit, forgets a delete', async () => {
    const id = await send(ann, general, 'the quarterly budget spreadsheet');
    await findable(ben.token, 'budget', id);
    await gqlOk(url, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id }, admin);
    // At once: the gateway re-checks each hit's status in the store.
    expect(await ids(ben.token, 'budget')).toEqual([]);
    await findable(admin, 'budget', id);
    expect((await search(admin, 'budget')).hits[0]).toMatchObject({ message: { id, status: 'HIDDEN', body: 'the quarterly budget spreadsheet' } });
    await gqlOk(url, 'mutation($id: ID!) { unhideMessage(id: $id) { id } }', { id }, admin);
    await findable(ben.token, 'budget', id);

    await gqlOk(url, 'mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { id } }', { id, b: 'the yearly forecast spreadsheet' }, ann.token);
    await findable(ben.token, 'forecast', id);
    expect(await ids(ben.token, 'budget')).toEqual([]);
    expect((await search(ben.token, 'spreadsheet')).hits[0]!.message.body).toBe('the yearly forecast spreadsheet');

    await gqlOk(url, 'mutation($id: ID!) { deleteMessage(id: $id) { id } }', { id }, ann.token);
    expect(await ids(ben.token, 'forecast')).toEqual([]);
    expect(await ids(admin, 'forecast')).toEqual([]);
  });

  it('stops searching a room at once when the caller leaves it', async () => {
    const id = await send(ann, general, 'farewell zeppelin party');
    await findable(ben.token, 'zeppelin', id);
    await gqlOk(url, 'mutation($r: ID!) { leaveRoom(room: $r) }', { r: general }, ben.token);
    expect(await ids(ben.token, 'zeppelin')).toEqual([]);
    expect(await ids(ann.token, 'zeppelin')).toEqual([id]);
  });

  it('pages with the cursor and validates its arguments', async () => {
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await send(ann, general, `pagination marmalade ${i}`));
    await findable(ann.token, 'marmalade', sent.at(-1)!);
    await eventually('all five indexed', async () => ((await ids(ann.token, 'marmalade')).length === 5 ? true : undefined), 30_000);
    const first = await search(ann.token, 'marmalade', { limit: 3 });
    expect(first.hits).toHaveLength(3);
    const second = await search(ann.token, 'marmalade', { limit: 3, after: first.nextCursor! });
    expect(second.nextCursor).toBeNull();
    expect(new Set([...first.hits, ...second.hits].map((h) => h.message.id))).toEqual(new Set(sent));
    for (const [vars, code] of [
      [{ q: 'x', limit: 51 }, 'BAD_USER_INPUT'],
      [{ q: '' }, 'BAD_USER_INPUT'],
      [{ q: 'x', after: 'not-a-cursor' }, 'BAD_USER_INPUT'],
    ] as const) {
      const r = await gql(url, SEARCH, vars, ann.token);
      expect(r.errors?.[0]?.extensions?.code).toBe(code);
    }
    expect((await gql(url, SEARCH, { q: 'x' })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

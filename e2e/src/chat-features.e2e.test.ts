import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import { E2E_JWT_SECRET, collect, eventually, gql, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

interface Msg {
  id: string;
  seq: number;
  body: string;
  status: string;
  editedAt: string | null;
  author: { id: string; displayName: string };
}
const FIELDS = 'id seq body status editedAt author { id displayName }';
const SEND = `mutation($room: ID!, $body: String!, $c: String!) { sendMessage(room: $room, body: $body, clientMsgId: $c) { ${FIELDS} } }`;
const ADDED = `subscription($room: ID!, $after: Int) { messageAdded(room: $room, after: $after) { ${FIELDS} } }`;
const UPDATED = `subscription($room: ID!) { messageUpdated(room: $room) { ${FIELDS} } }`;
const PRESENCE = 'subscription($room: ID!) { presenceChanged(room: $room) { online user { id username } } }';
const TYPING = 'subscription($room: ID!) { typing(room: $room) { room user { id } } }';
type Presence = { presenceChanged: { online: boolean; user: { id: string } } };

describe('chat features across two gateways and two chat workers', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  let ann: Session;
  let ben: Session;
  let cat: Session;
  const clients: Client[] = [];
  const tag = randomUUID().slice(0, 6);
  const room = `street-${tag}`;
  /** Resolves once `user` is in the room's presence, i.e. its subscription is live. */
  const inRoom = (r: string, user: Session) =>
    eventually(`${user.user.username} in ${r}`, async () => {
      const d = await gqlOk<{ room: { online: { id: string }[] } }>(g1, 'query($r: ID!) { room(id: $r) { online { id } } }', { r }, ann.token);
      return d.room.online.some((u) => u.id === user.user.id) ? true : undefined;
    });
  const ws = (i: 0 | 1, token: string) => {
    const c = wsClient(sys.gateways[i]!.ws, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2, chats: 2, env: { PRESENCE_TTL_MS: '4000', PRESENCE_HEARTBEAT_MS: '1000', TYPING_THROTTLE_MS: '60000' } });
    g1 = sys.gateways[0]!.http;
    g2 = sys.gateways[1]!.http;
    [ann, ben, cat] = await Promise.all([register(g1, `ann_${tag}`, 'Ann'), register(g2, `ben_${tag}`, 'Ben'), register(g1, `cat_${tag}`, 'Cat')]);
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, ann.token);
    await gqlOk(g2, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, ben.token);
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('shows messages, presence, typing, edits and deletes to people on different gateways', async () => {
    const annWs = ws(0, ann.token);
    const annPresence = collect<Presence>(annWs, PRESENCE, { room });
    const annAdded = collect<{ messageAdded: Msg }>(annWs, ADDED, { room, after: 0 });
    const annUpdated = collect<{ messageUpdated: Msg }>(annWs, UPDATED, { room });
    const annTyping = collect<{ typing: { user: { id: string } } }>(annWs, TYPING, { room });
    await eventually('ann online in the room', async () => {
      const d = await gqlOk<{ room: { online: { id: string }[] } }>(g2, 'query($r: ID!) { room(id: $r) { online { id } } }', { r: room }, ben.token);
      return d.room.online.some((u) => u.id === ann.user.id) ? true : undefined;
    });

    const benWs = ws(1, ben.token);
    const benAdded = collect<{ messageAdded: Msg }>(benWs, ADDED, { room, after: 0 });
    const benUpdated = collect<{ messageUpdated: Msg }>(benWs, UPDATED, { room });
    const benTyping = collect<{ typing: { user: { id: string } } }>(benWs, TYPING, { room });
    // Ann (gateway 1) sees Ben (gateway 2) come online.
    await eventually('ann to see ben online', () => (annPresence.items.some((p) => p.presenceChanged.user.id === ben.user.id && p.presenceChanged.online) ? true : undefined));
    const online = await gqlOk<{ users: { id: string; online: boolean }[]; room: { online: { id: string }[] } }>(
      g1,
      'query($r: ID!) { users(online: true) { id online } room(id: $r) { online { id } } }',
      { r: room },
      cat.token,
    );
    expect(online.users.map((u) => u.id)).toEqual(expect.arrayContaining([ann.user.id, ben.user.id]));
    expect(online.users.every((u) => u.online)).toBe(true);
    expect(online.room.online.map((u) => u.id).sort()).toEqual([ann.user.id, ben.user.id].sort());

    // Messages through either gateway reach both, in order.
    const m1 = (await gqlOk<{ sendMessage: Msg }>(g1, SEND, { room, body: 'hi from ann', c: 'm1' }, ann.token)).sendMessage;
    const m2 = (await gqlOk<{ sendMessage: Msg }>(g2, SEND, { room, body: 'hi from ben', c: 'm2' }, ben.token)).sendMessage;
    expect((await annAdded.until(2)).map((x) => x.messageAdded.id)).toEqual([m1.id, m2.id]);
    expect((await benAdded.until(2)).map((x) => x.messageAdded.id)).toEqual([m1.id, m2.id]);

    // Typing reaches the others, never the sender; a second signal within the window is dropped.
    expect(await gqlOk(g2, 'mutation($r: ID!) { setTyping(room: $r) }', { r: room }, ben.token)).toEqual({ setTyping: true });
    await gqlOk(g2, 'mutation($r: ID!) { setTyping(room: $r) }', { r: room }, ben.token);
    await annTyping.until(1);
    await gqlOk(g1, 'mutation($r: ID!) { setTyping(room: $r) }', { r: room }, ann.token);
    await benTyping.until(1);
    expect(annTyping.items.map((t) => t.typing.user.id)).toEqual([ben.user.id]);
    expect(benTyping.items.map((t) => t.typing.user.id)).toEqual([ann.user.id]);

    // Edit by the author reaches the other gateway; others may not edit or delete it.
    const edited = (await gqlOk<{ editMessage: Msg }>(g1, `mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { ${FIELDS} } }`, { id: m1.id, b: 'hi (edited)' }, ann.token)).editMessage;
    expect(edited).toMatchObject({ body: 'hi (edited)', status: 'VISIBLE', seq: 1 });
    expect(edited.editedAt).not.toBeNull();
    expect((await benUpdated.until(1))[0]!.messageUpdated).toMatchObject({ id: m1.id, body: 'hi (edited)' });
    const benEdits = await gql(g2, 'mutation($id: ID!) { editMessage(id: $id, body: "mine now") { id } }', { id: m1.id }, ben.token);
    expect(benEdits.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const benDeletes = await gql(g2, 'mutation($id: ID!) { deleteMessage(id: $id) { id } }', { id: m1.id }, ben.token);
    expect(benDeletes.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Delete by the author: body emptied for everyone; a deleted message cannot be edited.
    const deleted = (await gqlOk<{ deleteMessage: Msg }>(g1, `mutation($id: ID!) { deleteMessage(id: $id) { ${FIELDS} } }`, { id: m1.id }, ann.token)).deleteMessage;
    expect(deleted).toMatchObject({ status: 'DELETED', body: '' });
    expect((await benUpdated.until(2))[1]!.messageUpdated).toMatchObject({ id: m1.id, status: 'DELETED', body: '' });
    expect((await annUpdated.until(2)).map((u) => u.messageUpdated.status)).toEqual(['VISIBLE', 'DELETED']);
    const editDeleted = await gql(g1, 'mutation($id: ID!) { editMessage(id: $id, body: "again") { id } }', { id: m1.id }, ann.token);
    expect(editDeleted.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const hist = await gqlOk<{ messages: { messages: Msg[] } }>(g2, `query($r: ID!) { messages(room: $r) { messages { ${FIELDS} } } }`, { r: room }, ben.token);
    expect(hist.messages.messages.map((m) => [m.seq, m.status, m.body])).toEqual([
      [1, 'DELETED', ''],
      [2, 'VISIBLE', 'hi from ben'],
    ]);

    // The display name is the owner's to change, and later messages carry it.
    await gqlOk(g2, 'mutation { setDisplayName(displayName: "  Benjamin ") { displayName } }', {}, ben.token);
    const m3 = (await gqlOk<{ sendMessage: Msg }>(g2, SEND, { room, body: 'new name', c: 'm3' }, ben.token)).sendMessage;
    expect(m3.author.displayName).toBe('Benjamin');
    expect((await annAdded.until(3))[2]!.messageAdded.author.displayName).toBe('Benjamin');
  });

  it('pages history by sequence with hasMore right at both ends', async () => {
    const r = `pages-${tag}`;
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, ann.token);
    for (let i = 1; i <= 7; i++) await gqlOk(g1, SEND, { room: r, body: `p${i}`, c: `p${i}` }, ann.token);
    const page = async (args: string) =>
      (await gqlOk<{ messages: { messages: { seq: number }[]; hasMore: boolean } }>(g2, `query($r: ID!) { messages(room: $r, ${args}) { messages { seq } hasMore } }`, { r }, ben.token)).messages;
    const seqs = (p: { messages: { seq: number }[] }) => p.messages.map((m) => m.seq);
    const newest = await page('limit: 3');
    expect([seqs(newest), newest.hasMore]).toEqual([[5, 6, 7], true]);
    const older = await page('before: 5, limit: 3');
    expect([seqs(older), older.hasMore]).toEqual([[2, 3, 4], true]);
    const oldest = await page('before: 2, limit: 3');
    expect([seqs(oldest), oldest.hasMore]).toEqual([[1], false]);
    const after = await page('after: 4, limit: 2');
    expect([seqs(after), after.hasMore]).toEqual([[5, 6], true]);
    const tail = await page('after: 6, limit: 2');
    expect([seqs(tail), tail.hasMore]).toEqual([[7], false]);
    for (const bad of ['limit: 0', 'limit: 201', 'before: 3, after: 1']) {
      const res = await gql(g2, `query($r: ID!) { messages(room: $r, ${bad}) { hasMore } }`, { r }, ben.token);
      expect(res.errors?.[0]?.extensions?.code, bad).toBe('BAD_USER_INPUT');
    }
  });

  it('gives two people one private room, the same from both sides, closed to everyone else on every gateway', async () => {
    const open = 'mutation($u: ID!) { openDirectRoom(userId: $u) { id kind name members { id } } }';
    const [a, b] = await Promise.all([
      gqlOk<{ openDirectRoom: { id: string; kind: string; name: string; members: { id: string }[] } }>(g1, open, { u: ben.user.id }, ann.token),
      gqlOk<{ openDirectRoom: { id: string; kind: string; name: string } }>(g2, open, { u: ann.user.id }, ben.token),
    ]);
    const dm = a.openDirectRoom.id;
    expect(b.openDirectRoom.id).toBe(dm);
    expect(a.openDirectRoom.kind).toBe('DIRECT');
    expect(a.openDirectRoom.name).toBe('Benjamin');
    expect(b.openDirectRoom.name).toBe('Ann');
    expect(a.openDirectRoom.members.map((m) => m.id).sort()).toEqual([ann.user.id, ben.user.id].sort());
    const again = await gqlOk<{ openDirectRoom: { id: string } }>(g2, open, { u: ben.user.id }, ann.token);
    expect(again.openDirectRoom.id).toBe(dm);

    const annWs = ws(1, ann.token);
    const annDm = collect<{ messageAdded: Msg }>(annWs, ADDED, { room: dm, after: 0 });
    await gqlOk(g1, SEND, { room: dm, body: 'just us', c: 'dm1' }, ben.token);
    expect((await annDm.until(1))[0]!.messageAdded.body).toBe('just us');

    const rooms = async (token: string) => (await gqlOk<{ rooms: { id: string }[] }>(g1, '{ rooms { id } }', {}, token)).rooms.map((r) => r.id);
    expect(await rooms(ann.token)).toContain(dm);
    expect(await rooms(cat.token)).not.toContain(dm);
    for (const [i, url] of [g1, g2].entries()) {
      const read = await gql(url, 'query($r: ID!) { messages(room: $r) { messages { body } } }', { r: dm }, cat.token);
      expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(read)).not.toContain('just us');
      const send = await gql(url, SEND, { room: dm, body: 'let me in', c: `x${i}` }, cat.token);
      expect(send.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const sub = collect(ws(i as 0 | 1, cat.token), ADDED, { room: dm, after: 0 });
      await eventually('the subscription to be refused', () => (sub.errors.length > 0 ? true : undefined));
      expect(JSON.stringify(sub.errors)).toContain('FORBIDDEN');
      expect(sub.items).toEqual([]);
      const peek = await gqlOk<{ room: unknown }>(url, 'query($r: ID!) { room(id: $r) { id } }', { r: dm }, cat.token).catch((e: Error) => e.message);
      expect(JSON.stringify(peek)).toContain('FORBIDDEN');
    }
    const self = await gql(g1, open, { u: ann.user.id }, ann.token);
    expect(self.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const nobody = await gql(g1, open, { u: randomUUID() }, ann.token);
    expect(nobody.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const missing = collect(ws(0, ann.token), ADDED, { room: `missing-${tag}` });
    await eventually('the subscription to be refused', () => (missing.errors.length > 0 ? true : undefined));
    expect(JSON.stringify(missing.errors)).toContain('NOT_FOUND');
  });

  it('keeps a person with two tabs online until the last closes, and ends a socket when its token expires', async () => {
    const r = `tabs-${tag}`;
    const dee = await register(g1, `dee_${tag}`, 'Dee');
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, ben.token);
    const watcher = collect<Presence>(ws(0, ben.token), PRESENCE, { room: r });
    await inRoom(r, ben);
    const tab1 = ws(0, dee.token);
    const tab2 = ws(1, dee.token);
    collect(tab1, ADDED, { room: r });
    collect(tab2, ADDED, { room: r });
    await eventually('dee online', () => (watcher.items.some((p) => p.presenceChanged.user.id === dee.user.id && p.presenceChanged.online) ? true : undefined));
    await tab1.dispose();
    const isOnline = async () => (await gqlOk<{ users: { id: string }[] }>(g2, '{ users(online: true) { id } }', {}, ann.token)).users.some((u) => u.id === dee.user.id);
    expect(await isOnline()).toBe(true);
    await tab2.dispose();
    await eventually('dee offline', () => (watcher.items.some((p) => p.presenceChanged.user.id === dee.user.id && !p.presenceChanged.online) ? true : undefined));
    expect(watcher.items.filter((p) => p.presenceChanged.user.id === dee.user.id).map((p) => p.presenceChanged.online)).toEqual([true, false]);
    expect(await isOnline()).toBe(false);

    // A token that expires in 2 s: the socket is closed with 4403 then.
    const now = Math.floor(Date.now() / 1000);
    const short = await new SignJWT({ username: dee.user.username, role: 'USER' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(dee.user.id)
      .setIssuer('conversa')
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(new TextEncoder().encode(E2E_JWT_SECRET));
    const closed = new Promise<number>((resolve) => clients.push(wsClient(sys.gateways[0]!.ws, short, (code) => resolve(code))));
    expect(await closed).toBe(4403);
    const expired = new Promise<number>((resolve) => clients.push(wsClient(sys.gateways[1]!.ws, short, (code) => resolve(code))));
    expect(await expired).toBe(4403);
  });

  it('drops the users of a gateway that dies from presence within the expiry', async () => {
    const r = `crash-${tag}`;
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, ann.token);
    const watcher = collect<Presence>(ws(0, ann.token), PRESENCE, { room: r });
    await inRoom(r, ann);
    collect(ws(1, cat.token), ADDED, { room: r });
    await eventually('cat online', () => (watcher.items.some((p) => p.presenceChanged.user.id === cat.user.id && p.presenceChanged.online) ? true : undefined));
    const killedAt = Date.now();
    sys.gateways[1]!.proc.child.kill('SIGKILL');
    await eventually('cat reported offline after the crash', () => (watcher.items.some((p) => p.presenceChanged.user.id === cat.user.id && !p.presenceChanged.online) ? true : undefined), 15_000);
    console.log(`presence: offline ${Date.now() - killedAt} ms after the gateway was killed (TTL 4 s)`);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { cli, collect, eventually, gql, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

/**
 * Read state through the real gateways and chat workers: unread counts and mentions stay exact
 * for each member after a sequence of sends, hides, deletes and reads, read on two devices
 * (two gateways, one person), and the inbox lists rooms by activity with totals.
 */
interface RoomState {
  id: string;
  lastSeq: number;
  lastReadSeq: number;
  unread: number;
  mentions: number;
  lastMessage: { seq: number; body: string; author: { id: string } } | null;
}
const STATE = 'id lastSeq lastReadSeq unread mentions lastMessage { seq body author { id } }';
const ROOM = `query($r: ID!) { room(id: $r) { ${STATE} } }`;
const INBOX = `query($after: String, $limit: Int) { inbox(after: $after, limit: $limit) { rooms { ${STATE} } nextCursor unreadTotal mentionsTotal } }`;
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';
const MARK = `mutation($r: ID!, $s: Int!) { markRead(room: $r, seq: $s) { ${STATE} } }`;

interface Inbox {
  rooms: RoomState[];
  nextCursor: string | null;
  unreadTotal: number;
  mentionsTotal: number;
}

describe('read state across two gateways and two chat workers', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  let ann: Session;
  let ben: Session;
  let cat: Session;
  let admin: string;
  const tag = randomUUID().slice(0, 6);
  const room = `reading-${tag}`;
  let n = 0;
  const send = async (url: string, who: Session, r: string, body: string) =>
    (await gqlOk<{ sendMessage: { id: string; seq: number } }>(url, SEND, { r, b: body, c: `c-${tag}-${n++}` }, who.token)).sendMessage;
  const state = async (url: string, who: Session, r: string) => (await gqlOk<{ room: RoomState }>(url, ROOM, { r }, who.token)).room;

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2, chats: 2 });
    g1 = sys.gateways[0]!.http;
    g2 = sys.gateways[1]!.http;
    [ann, ben, cat] = await Promise.all([register(g1, `ann_${tag}`, 'Ann'), register(g2, `ben_${tag}`, 'Ben'), register(g1, `cat_${tag}`, 'Cat')]);
    for (const who of [ann, ben, cat]) await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, who.token);
    const name = `admin_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1']);
    expect(created.code).toBe(0);
    admin = (await gqlOk<{ login: { token: string } }>(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
  });

  const clients: Client[] = [];

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('keeps unread and mentions exact through sends, hides, deletes and reads on two devices', async () => {
    // Nothing yet.
    expect(await state(g1, ann, room)).toMatchObject({ lastSeq: 0, lastReadSeq: 0, unread: 0, mentions: 0, lastMessage: null });

    const m1 = await send(g1, ben, room, 'hello all');
    const m2 = await send(g2, ben, room, `@ann_${tag} are you there?`);
    const m3 = await send(g1, cat, room, '@room meeting at noon');
    const m4 = await send(g2, cat, room, `thanks @ben_${tag}.`);
    expect([m1.seq, m2.seq, m3.seq, m4.seq]).toEqual([1, 2, 3, 4]);

    // Ann: 4 unread, mentioned by name (m2) and as the room (m3).
    expect(await state(g1, ann, room)).toMatchObject({ lastSeq: 4, lastReadSeq: 0, unread: 4, mentions: 2, lastMessage: { seq: 4, author: { id: cat.user.id } } });
    // Ben sent m1 and m2: his position moved to m2; unread m3, m4; both mention him (@room, @ben).
    expect(await state(g2, ben, room)).toMatchObject({ lastReadSeq: 2, unread: 2, mentions: 2 });
    // Cat sent the last one: everything read.
    expect(await state(g1, cat, room)).toMatchObject({ lastReadSeq: 4, unread: 0, mentions: 0 });

    // An admin hides the @room message: it stops counting, for unread and for mentions.
    await gqlOk(g1, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id: m3.id }, admin);
    expect(await state(g2, ann, room)).toMatchObject({ unread: 3, mentions: 1 });
    expect(await state(g1, ben, room)).toMatchObject({ unread: 1, mentions: 1 });

    // Cat deletes the newest message: the last message hands over to the newest VISIBLE one.
    await gqlOk(g2, 'mutation($id: ID!) { deleteMessage(id: $id) { id } }', { id: m4.id }, cat.token);
    expect(await state(g1, ann, room)).toMatchObject({ lastSeq: 4, unread: 2, mentions: 1, lastMessage: { seq: 2 } });
    expect(await state(g1, ben, room)).toMatchObject({ unread: 0, mentions: 0 });

    // Ann reads up to m1 on one device (gateway 1); the other device (gateway 2) sees it.
    const marked = (await gqlOk<{ markRead: RoomState }>(g1, MARK, { r: room, s: m1.seq }, ann.token)).markRead;
    expect(marked).toMatchObject({ lastReadSeq: 1, unread: 1, mentions: 1 });
    expect(await state(g2, ann, room)).toMatchObject({ lastReadSeq: 1, unread: 1, mentions: 1 });
    // A lower seq changes nothing; the position never moves back.
    expect((await gqlOk<{ markRead: RoomState }>(g2, MARK, { r: room, s: 0 }, ann.token)).markRead).toMatchObject({ lastReadSeq: 1 });
    // Reading the mention clears it.
    expect((await gqlOk<{ markRead: RoomState }>(g2, MARK, { r: room, s: m2.seq }, ann.token)).markRead).toMatchObject({ lastReadSeq: 2, unread: 0, mentions: 0 });

    // The admin unhides m3: it counts again for whoever has not read past it.
    await gqlOk(g1, 'mutation($id: ID!) { unhideMessage(id: $id) { id } }', { id: m3.id }, admin);
    expect(await state(g1, ann, room)).toMatchObject({ unread: 1, mentions: 1 });

    // Ann's own send moves her position to it: her own messages are never unread.
    const m5 = await send(g2, ann, room, 'back');
    expect(await state(g1, ann, room)).toMatchObject({ lastReadSeq: m5.seq, unread: 0, mentions: 0, lastMessage: { seq: m5.seq, body: 'back' } });
  });

  it('refuses a read position beyond the newest message, an unknown room and a room that is not yours', async () => {
    const r = `bounds-${tag}`;
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, ann.token);
    await send(g1, ann, r, 'one');
    const beyond = await gql(g1, MARK, { r, s: 2 }, ann.token);
    expect(beyond.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(beyond.errors?.[0]?.message).toContain('seq');
    const negative = await gql(g1, MARK, { r, s: -1 }, ann.token);
    expect(negative.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const unknown = await gql(g1, MARK, { r: `nowhere-${tag}`, s: 0 }, ann.token);
    expect(unknown.errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    const direct = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: ben.user.id }, ann.token)).openDirectRoom;
    const outsider = await gql(g2, MARK, { r: direct.id, s: 0 }, cat.token);
    expect(outsider.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    // Nothing moved: Ann's position is still at her own message.
    expect(await state(g1, ann, r)).toMatchObject({ lastReadSeq: 1, unread: 0 });
  });

  it('lists a person\'s rooms by latest activity with their counts and totals, paged', async () => {
    const dan = await register(g1, `dan_${tag}`, 'Dan');
    const eve = await register(g2, `eve_${tag}`, 'Eve');
    const rooms = [`inbox-a-${tag}`, `inbox-b-${tag}`, `inbox-c-${tag}`];
    for (const r of rooms) {
      await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, dan.token);
      await gqlOk(g2, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, eve.token);
    }
    const direct = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: eve.user.id }, dan.token)).openDirectRoom;
    // Activity order, oldest first: c, a, direct, b (b newest).
    await send(g2, eve, rooms[2]!, 'c1');
    await send(g2, eve, rooms[0]!, `a1 @dan_${tag}`);
    await send(g2, eve, rooms[0]!, 'a2');
    await send(g2, eve, direct.id, 'psst');
    await send(g2, eve, rooms[1]!, 'b1');

    const all = (await gqlOk<{ inbox: Inbox }>(g1, INBOX, { limit: 50 }, dan.token)).inbox;
    expect(all.rooms.map((r) => r.id)).toEqual([rooms[1], direct.id, rooms[0], rooms[2]]);
    expect(all.rooms.map((r) => r.unread)).toEqual([1, 1, 2, 1]);
    expect(all).toMatchObject({ unreadTotal: 5, mentionsTotal: 1, nextCursor: null });

    // Paged two at a time: the same rooms in the same order, totals on every page.
    const first = (await gqlOk<{ inbox: Inbox }>(g2, INBOX, { limit: 2 }, dan.token)).inbox;
    expect(first.rooms.map((r) => r.id)).toEqual([rooms[1], direct.id]);
    expect(first.nextCursor).not.toBeNull();
    const second = (await gqlOk<{ inbox: Inbox }>(g2, INBOX, { limit: 2, after: first.nextCursor }, dan.token)).inbox;
    expect(second.rooms.map((r) => r.id)).toEqual([rooms[0], rooms[2]]);
    expect(second).toMatchObject({ nextCursor: null, unreadTotal: 5, mentionsTotal: 1 });

    // Eve's own sends are read for her: her inbox has nothing unread.
    const hers = (await gqlOk<{ inbox: Inbox }>(g2, INBOX, {}, eve.token)).inbox;
    expect(hers).toMatchObject({ unreadTotal: 0, mentionsTotal: 0 });

    const bad = await gql(g1, INBOX, { after: 'not-a-cursor' }, dan.token);
    expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('shows the others\' read positions, live and in readBy, except a private member\'s', async () => {
    const r = `receipts-${tag}`;
    const [fay, gus, hal] = await Promise.all([register(g1, `fay_${tag}`, 'Fay'), register(g2, `gus_${tag}`, 'Gus'), register(g1, `hal_${tag}`, 'Hal')]);
    for (const who of [fay, gus, hal]) await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, who.token);
    await send(g1, fay, r, 'one');
    await send(g1, fay, r, 'two');
    // Hal's receipts are private.
    const priv = await gqlOk<{ setReceiptsPrivate: { id: string } }>(g2, 'mutation { setReceiptsPrivate(private: true) { id } }', {}, hal.token);
    expect(priv.setReceiptsPrivate.id).toBe(hal.user.id);

    const ws = wsClient(sys.gateways[1]!.ws, fay.token);
    clients.push(ws);
    const live = collect<{ readReceipts: { user: { id: string }; lastReadSeq: number } }>(ws, 'subscription($r: ID!) { readReceipts(room: $r) { user { id } lastReadSeq at } }', { r });
    // The subscription is live once Fay is in the room's presence.
    await eventually('fay subscribed', async () => {
      const d = await gqlOk<{ room: { online: { id: string }[] } }>(g1, 'query($r: ID!) { room(id: $r) { online { id } } }', { r }, gus.token);
      return d.room.online.some((u) => u.id === fay.user.id) ? true : undefined;
    });
    await gqlOk(g1, MARK, { r, s: 1 }, gus.token);
    await eventually('gus at 1', () => (live.items.some((i) => i.readReceipts.lastReadSeq === 1) ? true : undefined));
    await gqlOk(g2, MARK, { r, s: 2 }, hal.token); // private: not shown
    await gqlOk(g1, MARK, { r, s: 2 }, gus.token);
    await eventually('gus at 2', () => (live.items.some((i) => i.readReceipts.lastReadSeq === 2) ? true : undefined));
    expect(live.items.every((i) => i.readReceipts.user.id === gus.user.id)).toBe(true);

    const readBy = async (who: Session) =>
      (await gqlOk<{ room: { readBy: { user: { id: string }; lastReadSeq: number }[] } }>(g1, 'query($r: ID!) { room(id: $r) { readBy { user { id } lastReadSeq at } } }', { r }, who.token)).room.readBy;
    // Fay sees Gus at 2 (Hal hidden; her own position is not a receipt).
    expect(await readBy(fay)).toEqual([{ user: { id: gus.user.id }, lastReadSeq: 2, at: expect.any(String) }]);
    // Hal, private, still sees the others and his own counts.
    // Both at 2: the one who got there last first (Gus read after Fay sent).
    expect((await readBy(hal)).map((x) => x.user.id)).toEqual([gus.user.id, fay.user.id]);
    expect(await state(g1, hal, r)).toMatchObject({ lastReadSeq: 2, unread: 0 });
    // Back to public: he shows again.
    await gqlOk(g2, 'mutation { setReceiptsPrivate(private: false) { id } }', {}, hal.token);
    expect((await readBy(fay)).map((x) => x.user.id).sort()).toEqual([gus.user.id, hal.user.id].sort());
  });

  it('streams one person\'s room list to each of their devices: messages with counts, reads, rooms added and removed, hides', async () => {
    type Ev = { inbox: { kind: string; room: { id: string; unread: number; mentions: number; lastReadSeq: number; lastMessage: { seq: number } | null }; message: { seq: number } | null } };
    const INBOX_SUB = 'subscription { inbox { kind room { id unread mentions lastReadSeq lastMessage { seq } } message { seq } } }';
    const [ivy, joe] = await Promise.all([register(g1, `ivy_${tag}`, 'Ivy'), register(g2, `joe_${tag}`, 'Joe')]);
    const probe = `probe-${tag}`;
    for (const who of [ivy, joe]) await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: probe }, who.token);
    // Two devices of Ivy, one on each gateway.
    const [d1, d2] = [wsClient(sys.gateways[0]!.ws, ivy.token), wsClient(sys.gateways[1]!.ws, ivy.token)];
    clients.push(d1, d2);
    const on1 = collect<Ev>(d1, INBOX_SUB, {});
    const on2 = collect<Ev>(d2, INBOX_SUB, {});
    const last = (c: typeof on1, room: string, kind?: string) => [...c.items].reverse().find((e) => e.inbox.room.id === room && (!kind || e.inbox.kind === kind))?.inbox;
    // Live once a message of Joe's in the probe room reaches both devices.
    await eventually('both devices streaming', async () => {
      await send(g2, joe, probe, 'ping');
      return last(on1, probe, 'MESSAGE') && last(on2, probe, 'MESSAGE') ? true : undefined;
    });

    // Ivy joins a room on device 1: both devices get ADDED.
    const r = `stream-${tag}`;
    await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, ivy.token);
    await gqlOk(g2, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: r }, joe.token);
    await eventually('ADDED on both', () => (last(on1, r, 'ADDED') && last(on2, r, 'ADDED') ? true : undefined));

    // Joe writes three messages, one mentioning Ivy: each device sees the counts grow.
    const a = await send(g2, joe, r, 'one');
    const b = await send(g2, joe, r, `two @ivy_${tag}`);
    const c = await send(g1, joe, r, 'three');
    for (const on of [on1, on2]) {
      await eventually('three MESSAGE events', () => (last(on, r, 'MESSAGE')?.message?.seq === c.seq ? true : undefined));
      expect(last(on, r, 'MESSAGE')).toMatchObject({ room: { unread: 3, mentions: 1, lastReadSeq: 0, lastMessage: { seq: c.seq } } });
    }

    // An admin hides the mention: UPDATED with lower counts.
    await gqlOk(g1, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id: b.id }, admin);
    for (const on of [on1, on2]) await eventually('UPDATED after the hide', () => (last(on, r, 'UPDATED')?.room.unread === 2 ? true : undefined));
    expect(last(on2, r, 'UPDATED')).toMatchObject({ room: { unread: 2, mentions: 0 } });

    // Ivy reads on device 2: device 1 gets READ with the counts cleared.
    await gqlOk(g2, MARK, { r, s: a.seq }, ivy.token);
    await eventually('READ on device 1', () => (last(on1, r, 'READ')?.room.lastReadSeq === a.seq ? true : undefined));
    expect(last(on1, r, 'READ')).toMatchObject({ room: { unread: 1, mentions: 0 } });

    // Ivy's own message from device 1: her position moves with it, everywhere.
    const mine = await send(g1, ivy, r, 'mine');
    for (const on of [on1, on2]) await eventually('her own MESSAGE', () => (last(on, r, 'MESSAGE')?.message?.seq === mine.seq ? true : undefined));
    expect(last(on2, r, 'MESSAGE')).toMatchObject({ room: { unread: 0, lastReadSeq: mine.seq } });

    // The stream and the query agree.
    const listed = (await gqlOk<{ inbox: Inbox }>(g1, INBOX, {}, ivy.token)).inbox.rooms.find((x) => x.id === r);
    expect(listed).toMatchObject({ unread: 0, lastReadSeq: mine.seq, lastMessage: { seq: mine.seq } });

    // She leaves: REMOVED, and nothing of the room reaches her after it.
    await gqlOk(g2, 'mutation($r: ID!) { leaveRoom(room: $r) }', { r }, ivy.token);
    for (const on of [on1, on2]) await eventually('REMOVED', () => (last(on, r, 'REMOVED') ? true : undefined));
    const seen = on1.items.length;
    await send(g2, joe, r, 'after she left');
    // A message in a room she is still in arrives; the one after she left never does.
    const p2 = await send(g2, joe, probe, 'still here');
    await eventually('the probe message', () => (last(on1, probe, 'MESSAGE')?.message?.seq === p2.seq ? true : undefined));
    expect(on1.items.slice(seen).filter((e) => e.inbox.room.id === r)).toEqual([]);
    expect(on1.errors).toEqual([]);
  });

  it('in a group of three: counts per member, inbox events, receipts, a removed member cut off, an outsider refused', async () => {
    type Ev = { inbox: { kind: string; room: { id: string; name: string; unread: number; mentions: number; myRole: string | null } } };
    const SUB = 'subscription { inbox { kind room { id name unread mentions myRole } } }';
    const [kim, lea, max, out] = await Promise.all([
      register(g1, `kim_${tag}`, 'Kim'),
      register(g2, `lea_${tag}`, 'Lea'),
      register(g1, `max_${tag}`, 'Max'),
      register(g2, `out_${tag}`, 'Out'),
    ]);
    const [kimWs, leaWs, maxWs] = [wsClient(sys.gateways[0]!.ws, kim.token), wsClient(sys.gateways[1]!.ws, lea.token), wsClient(sys.gateways[0]!.ws, max.token)];
    clients.push(kimWs, leaWs, maxWs);
    const [onKim, onLea, onMax] = [collect<Ev>(kimWs, SUB, {}), collect<Ev>(leaWs, SUB, {}), collect<Ev>(maxWs, SUB, {})];
    const lastOf = (c: typeof onKim, room: string, kind: string) => [...c.items].reverse().find((e) => e.inbox.room.id === room && e.inbox.kind === kind)?.inbox;
    // The streams are live once each has seen a message of a room the three share.
    const lobby = `lobby-${tag}`;
    for (const who of [kim, lea, max]) await gqlOk(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: lobby }, who.token);
    await eventually('three streams live', async () => {
      await send(g1, kim, lobby, 'anyone?');
      return [onKim, onLea, onMax].every((c) => c.items.some((e) => e.inbox.kind === 'MESSAGE' && e.inbox.room.id === lobby)) ? true : undefined;
    });

    const group = (await gqlOk<{ createGroup: { id: string } }>(g1, 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { id } }', { n: `team ${tag}`, m: [lea.user.id, max.user.id] }, kim.token)).createGroup;
    for (const [on, role] of [[onKim, 'OWNER'], [onLea, 'MEMBER'], [onMax, 'MEMBER']] as const)
      await eventually(`ADDED with ${role}`, () => (lastOf(on, group.id, 'ADDED')?.room.myRole === role ? true : undefined));

    await send(g1, kim, group.id, 'welcome');
    const q = await send(g2, lea, group.id, `question for @max_${tag}`);
    await send(g1, kim, group.id, '@room standup');
    expect(await state(g1, kim, group.id)).toMatchObject({ unread: 0, mentions: 0 }); // she wrote the newest
    expect(await state(g2, lea, group.id)).toMatchObject({ unread: 1, mentions: 1 });
    expect(await state(g1, max, group.id)).toMatchObject({ unread: 3, mentions: 2 });
    await eventually('max\'s stream at 3 unread', () => (lastOf(onMax, group.id, 'MESSAGE')?.room.unread === 3 ? true : undefined));
    expect(lastOf(onMax, group.id, 'MESSAGE')?.room.mentions).toBe(2);

    // An outsider gets nothing of the group.
    expect((await gql(g2, MARK, { r: group.id, s: 1 }, out.token)).errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect((await gql(g2, ROOM, { r: group.id }, out.token)).errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });

    // Max reads up to the question; Lea (private) reads everything; Kim sees Max's receipt only.
    await gqlOk(g2, 'mutation { setReceiptsPrivate(private: true) { id } }', {}, lea.token);
    await gqlOk(g1, MARK, { r: group.id, s: q.seq }, max.token);
    await gqlOk(g2, MARK, { r: group.id, s: 3 }, lea.token);
    const readBy = (await gqlOk<{ room: { readBy: { user: { id: string }; lastReadSeq: number }[] } }>(g1, 'query($r: ID!) { room(id: $r) { readBy { user { id } lastReadSeq } } }', { r: group.id }, kim.token)).room.readBy;
    expect(readBy).toEqual([{ user: { id: max.user.id }, lastReadSeq: q.seq }]);

    // Rename: UPDATED with the new name for everyone.
    await gqlOk(g1, 'mutation($r: ID!, $n: String!) { renameRoom(room: $r, name: $n) { id } }', { r: group.id, n: `crew ${tag}` }, kim.token);
    for (const on of [onKim, onLea, onMax]) await eventually('UPDATED with the new name', () => (lastOf(on, group.id, 'UPDATED')?.room.name === `crew ${tag}` ? true : undefined));

    // Max is removed: REMOVED, then nothing of the group, and no counts or reads of it.
    await gqlOk(g1, 'mutation($r: ID!, $u: ID!) { removeMember(room: $r, userId: $u) { id } }', { r: group.id, u: max.user.id }, kim.token);
    await eventually('REMOVED for max', () => (lastOf(onMax, group.id, 'REMOVED') ? true : undefined));
    const seen = onMax.items.length;
    await send(g1, kim, group.id, 'after max left');
    await eventually('lea sees it', () => (lastOf(onLea, group.id, 'MESSAGE')?.room.unread === 1 ? true : undefined));
    expect(onMax.items.slice(seen).filter((e) => e.inbox.room.id === group.id)).toEqual([]);
    expect((await gql(g1, MARK, { r: group.id, s: 1 }, max.token)).errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    const maxInbox = (await gqlOk<{ inbox: Inbox }>(g1, INBOX, {}, max.token)).inbox;
    expect(maxInbox.rooms.map((r) => r.id)).not.toContain(group.id);
  });
});

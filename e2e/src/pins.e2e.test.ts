/**
 * Pins end to end (API-product.graphql, issue 16 part 4): the services as processes, two
 * gateways, real graphql-ws clients. Every test has users and rooms of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { cli, collect, eventually, gql, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

const MSG = 'id seq body status pinned';
const PIN = `mutation($id: ID!) { pinMessage(id: $id) { ${MSG} } }`;
const UNPIN = `mutation($id: ID!) { unpinMessage(id: $id) { ${MSG} } }`;
const PINNED = `query($r: ID!) { pinnedMessages(room: $r) { ${MSG} } }`;
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';
const CREATE = 'mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { id } }';
const SET_ROLE = 'mutation($r: ID!, $u: ID!, $role: MemberRole!) { setMemberRole(room: $r, userId: $u, role: $role) { id } }';
const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const DM = 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }';
const DELETE = 'mutation($id: ID!) { deleteMessage(id: $id) { id } }';
const HIDE = 'mutation($id: ID!) { hideMessage(id: $id, reason: "e2e") { id } }';
const UPDATED = 'subscription($room: ID!) { messageUpdated(room: $room) { id pinned } }';
const INBOX = 'subscription { inbox { kind room { id lastMessage { id pinned } } message { id } } }';
const ONLINE = 'query($r: ID!) { room(id: $r) { online { id } } }';

interface Msg {
  id: string;
  seq: number;
  body: string;
  status: string;
  pinned: boolean;
}
type Err = { message: string; extensions?: { code?: string } };
type InboxEv = { inbox: { kind: string; room: { id: string; lastMessage: { id: string; pinned: boolean } | null }; message: { id: string } | null } };

describe('pins', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  let admin: string;
  const clients: Client[] = [];
  const tag = randomUUID().slice(0, 6);
  let n = 0;
  const person = (name: string) => register(g1, `${name}_${tag}_${++n}`, name);
  const ws = (s: Session, i: number) => {
    const c = wsClient(sys.gateways[i]!.ws, s.token);
    clients.push(c);
    return c;
  };
  const send = async (url: string, s: Session, room: string, body: string) =>
    (await gqlOk<{ sendMessage: { id: string; seq: number } }>(url, SEND, { r: room, b: body, c: randomUUID() }, s.token)).sendMessage;
  const pin = async (url: string, token: string, id: string) => (await gqlOk<{ pinMessage: Msg }>(url, PIN, { id }, token)).pinMessage;
  const unpin = async (url: string, token: string, id: string) => (await gqlOk<{ unpinMessage: Msg }>(url, UNPIN, { id }, token)).unpinMessage;
  const pinned = async (url: string, token: string, room: string) => (await gqlOk<{ pinnedMessages: Msg[] }>(url, PINNED, { r: room }, token)).pinnedMessages;
  const error = async (url: string, q: string, v: Record<string, unknown>, token: string): Promise<Err | undefined> => (await gql(url, q, v, token)).errors?.[0];
  const code = async (url: string, q: string, v: Record<string, unknown>, token: string) => (await error(url, q, v, token))?.extensions?.code ?? 'ok';

  beforeAll(async () => {
    // The limit test sends and pins 50-odd times in one room: the per-person send limits (their
    // own tests cover them) are lifted.
    sys = await startSystem({
      gateways: 2,
      env: { RATE_LIMIT_SEND: '1000000/1s', RATE_LIMIT_ROOM_SEND_BURST: '1000000', RATE_LIMIT_ROOM_SEND_REFILL: '1000000/1s' },
    });
    g1 = sys.gateways[0]!.http;
    g2 = sys.gateways[1]!.http;
    const name = `root_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1']);
    expect(created.code, created.out).toBe(0);
    admin = (await gqlOk<{ login: { token: string } }>(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it("a group's OWNER pins and an ADMIN unpins, a MEMBER and an outsider are FORBIDDEN; the other gateway's subscribers see pinned flip, the inbox gets UPDATED", async () => {
    const [own, adm, mem, out] = await Promise.all([person('own'), person('adm'), person('mem'), person('out')]);
    const room = (await gqlOk<{ createGroup: { id: string } }>(g1, CREATE, { n: 'Pinboard', m: [adm.user.id, mem.user.id] }, own.token)).createGroup.id;
    await gqlOk(g1, SET_ROLE, { r: room, u: adm.user.id, role: 'ADMIN' }, own.token);

    // The MEMBER watches on gateway 2: the room's updates, and their inbox.
    const memWs = ws(mem, 1);
    const updates = collect<{ messageUpdated: { id: string; pinned: boolean } }>(memWs, UPDATED, { room });
    const inbox = collect<InboxEv>(memWs, INBOX, {});
    await eventually('the messageUpdated subscription live', async () => {
      const d = await gqlOk<{ room: { online: { id: string }[] } }>(g2, ONLINE, { r: room }, own.token);
      return d.room.online.some((u) => u.id === mem.user.id) ? true : undefined;
    });
    // The inbox stream is live once a message of the room reaches it; the newest one sent is the one pinned.
    let target = { id: '', seq: 0 };
    await eventually('the inbox stream live', async () => {
      target = await send(g1, own, room, 'the plan');
      return inbox.items.some((e) => e.inbox.kind === 'MESSAGE' && e.inbox.message?.id === target.id) ? true : undefined;
    });
    const inboxUpdate = (want: boolean) =>
      eventually(`inbox UPDATED with the pin ${want}`, () =>
        inbox.items.some((e) => e.inbox.kind === 'UPDATED' && e.inbox.room.id === room && e.inbox.room.lastMessage?.id === target.id && e.inbox.room.lastMessage.pinned === want) ? true : undefined,
      );

    for (const url of [g1, g2]) {
      expect(await code(url, PIN, { id: target.id }, mem.token)).toBe('FORBIDDEN');
      expect(await code(url, PIN, { id: target.id }, out.token)).toBe('FORBIDDEN');
      expect(await code(url, PINNED, { r: room }, out.token)).toBe('FORBIDDEN');
    }
    expect(await pin(g1, own.token, target.id)).toMatchObject({ id: target.id, pinned: true, body: 'the plan' });
    expect((await updates.until(1))[0]!.messageUpdated).toEqual({ id: target.id, pinned: true });
    await inboxUpdate(true);
    expect((await pinned(g2, mem.token, room)).map((m) => m.id)).toEqual([target.id]);

    expect(await code(g2, UNPIN, { id: target.id }, mem.token)).toBe('FORBIDDEN');
    expect(await unpin(g2, adm.token, target.id)).toMatchObject({ id: target.id, pinned: false });
    expect((await updates.until(2))[1]!.messageUpdated).toEqual({ id: target.id, pinned: false });
    await inboxUpdate(false);
    expect(await pinned(g1, own.token, room)).toEqual([]);
    expect(updates.errors).toEqual([]);
  });

  it('a public room: only a site ADMIN pins, hidden pins are listed for admins only; a direct room: either of its two, nobody else; the audit log has the events', async () => {
    const [ann, bob, cat] = await Promise.all([person('ann'), person('bob'), person('cat')]);
    const pub = (await gqlOk<{ joinRoom: { id: string } }>(g1, JOIN, { n: `pins-${tag}` }, ann.token)).joinRoom.id;
    const m = await send(g1, ann, pub, 'read the rules');
    expect(await code(g1, PIN, { id: m.id }, ann.token)).toBe('FORBIDDEN');
    expect(await pin(g2, admin, m.id)).toMatchObject({ pinned: true });
    expect((await pinned(g1, ann.token, pub)).map((x) => x.id)).toEqual([m.id]);
    // Hidden by a moderator: still pinned, listed for admins (with its body), not for others.
    await gqlOk(g1, HIDE, { id: m.id }, admin);
    expect(await pinned(g1, ann.token, pub)).toEqual([]);
    expect(await pinned(g2, admin, pub)).toEqual([{ id: m.id, seq: m.seq, body: 'read the rules', status: 'HIDDEN', pinned: true }]);
    expect(await unpin(g1, admin, m.id)).toMatchObject({ pinned: false });

    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, DM, { u: bob.user.id }, ann.token)).openDirectRoom.id;
    const d = await send(g2, bob, dm, 'see you at 5');
    expect(await pin(g1, ann.token, d.id)).toMatchObject({ pinned: true });
    for (const token of [cat.token, admin]) {
      expect(await code(g1, UNPIN, { id: d.id }, token)).toBe('FORBIDDEN');
      expect(await code(g2, PINNED, { r: dm }, token)).toBe('FORBIDDEN');
    }
    expect(await unpin(g2, bob.token, d.id)).toMatchObject({ pinned: false });
    expect(await pin(g2, bob.token, d.id)).toMatchObject({ pinned: true });

    // Through the outbox and Kafka into the audit log, with who did it.
    type Entry = { type: string; actor: { id: string } | null; data: { by: string; message: { id: string; pinned: boolean } } };
    const audited = async (room: string, count: number) =>
      eventually(`${count} pin events of ${room} in the audit log`, async () => {
        const all: Entry[] = [];
        for (const type of ['message.pinned', 'message.unpinned']) {
          const r = await gqlOk<{ auditLog: { events: Entry[] } }>(g1, 'query($r: ID!, $t: String!) { auditLog(room: $r, type: $t) { events { type actor { id } data } } }', { r: room, t: type }, admin);
          all.push(...r.auditLog.events);
        }
        return all.length >= count ? all : undefined;
      });
    const inDm = await audited(dm, 3);
    expect(inDm.map((e) => [e.type, e.data.by, e.actor?.id, e.data.message.id, e.data.message.pinned])).toEqual([
      ['message.pinned', ann.user.id, ann.user.id, d.id, true],
      ['message.pinned', bob.user.id, bob.user.id, d.id, true],
      ['message.unpinned', bob.user.id, bob.user.id, d.id, false],
    ]);
    expect((await audited(pub, 2)).map((e) => e.type)).toEqual(['message.pinned', 'message.unpinned']);
  });

  it('lists newest pin first; holds 50 pins (the 51st is CONFLICT, also when two race for the last place); refuses a deleted message and an unknown id', async () => {
    const [ann, bob] = await Promise.all([person('ann'), person('bob')]);
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, DM, { u: bob.user.id }, ann.token)).openDirectRoom.id;
    const msgs: { id: string; seq: number }[] = [];
    const authorOf = (seq: number) => (seq % 3 ? ann : bob);
    for (let i = 1; i <= 53; i++) msgs.push(await send(i % 2 ? g1 : g2, authorOf(i), dm, `#${i}`));
    const id = (seq: number) => msgs[seq - 1]!.id;

    await pin(g1, ann.token, id(3));
    await pin(g2, bob.token, id(1));
    await pin(g1, bob.token, id(2));
    expect((await pinned(g2, ann.token, dm)).map((m) => m.seq)).toEqual([2, 1, 3]);
    // Pinning a pinned message answers it, and changes nothing.
    expect(await pin(g2, ann.token, id(1))).toMatchObject({ seq: 1, pinned: true });
    expect((await pinned(g1, bob.token, dm)).map((m) => m.seq)).toEqual([2, 1, 3]);

    // 47 more at once, through both gateways: 50.
    await Promise.all(Array.from({ length: 47 }, (_, k) => pin(k % 2 ? g1 : g2, k % 3 ? ann.token : bob.token, id(k + 4))));
    expect(await pinned(g1, ann.token, dm)).toHaveLength(50);
    const full = await error(g2, PIN, { id: id(51) }, ann.token);
    expect(full?.extensions?.code).toBe('CONFLICT');
    expect(full?.message).toMatch(/50 pinned messages/);
    // Already pinned: no place needed.
    expect(await pin(g1, bob.token, id(50))).toMatchObject({ pinned: true });

    // One place, two pins racing for it on two gateways: one wins.
    await unpin(g1, bob.token, id(1));
    const raced = await Promise.all([gql(g1, PIN, { id: id(51) }, ann.token), gql(g2, PIN, { id: id(52) }, bob.token)]);
    expect(raced.map((r) => r.errors?.[0]?.extensions?.code ?? 'ok').sort()).toEqual(['CONFLICT', 'ok']);
    const listed = await pinned(g2, bob.token, dm);
    expect(listed).toHaveLength(50);
    expect(listed.every((m) => m.pinned)).toBe(true);

    // A deleted message cannot be pinned; a pinned one that is deleted leaves the list.
    await gqlOk(g1, DELETE, { id: id(53) }, authorOf(53).token);
    const deleted = await error(g2, PIN, { id: id(53) }, ann.token);
    expect(deleted?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(deleted?.message).toMatch(/^id: only a VISIBLE message can be pinned/);
    await gqlOk(g1, DELETE, { id: id(2) }, authorOf(2).token);
    expect((await pinned(g1, ann.token, dm)).map((m) => m.seq)).not.toContain(2);
    expect(await pinned(g1, ann.token, dm)).toHaveLength(49);

    const unknown = await error(g1, PIN, { id: `${dm}:9999` }, ann.token);
    expect(unknown?.extensions?.code).toBe('NOT_FOUND');
    expect(await code(g2, UNPIN, { id: randomUUID() }, ann.token)).toBe('NOT_FOUND');
    expect(await code(g2, PINNED, { r: `dm-${randomUUID()}` }, ann.token)).toBe('NOT_FOUND');
  }, 180_000);
});

/**
 * Group rooms and blocking end to end (API-product.graphql, issue 15 parts 1, 5 and 7): the
 * services as processes, two gateways, real graphql-ws clients. Every test has users and
 * rooms of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { cli, collect, eventually, gql, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';

const ROOM = 'id name kind myRole members { id }';
const CREATE = `mutation($n: String!, $m: [ID!]!) { createGroup(name: $n, members: $m) { ${ROOM} } }`;
const ADD = `mutation($r: ID!, $u: ID!) { addMember(room: $r, userId: $u) { ${ROOM} } }`;
const REMOVE = `mutation($r: ID!, $u: ID!) { removeMember(room: $r, userId: $u) { ${ROOM} } }`;
const SET_ROLE = `mutation($r: ID!, $u: ID!, $role: MemberRole!) { setMemberRole(room: $r, userId: $u, role: $role) { ${ROOM} } }`;
const RENAME = `mutation($r: ID!, $n: String!) { renameRoom(room: $r, name: $n) { ${ROOM} } }`;
const LEAVE = 'mutation($r: ID!) { leaveRoom(room: $r) }';
const GET = `query($r: ID!) { room(id: $r) { ${ROOM} online { id } } }`;
const ROOMS = 'query { rooms { id kind myRole } }';
const HISTORY = 'query($r: ID!) { messages(room: $r) { messages { seq body } } }';
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq } }';
const TYPING = 'mutation($r: ID!) { setTyping(room: $r) }';
const BLOCK = 'mutation($u: ID!) { blockUser(userId: $u) }';
const UNBLOCK = 'mutation($u: ID!) { unblockUser(userId: $u) }';
const BLOCKED = 'query { blockedUsers { id } }';
const DM = 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }';
const SUBS = {
  messageAdded: 'subscription($room: ID!) { messageAdded(room: $room) { seq body } }',
  messageUpdated: 'subscription($room: ID!) { messageUpdated(room: $room) { seq } }',
  presenceChanged: 'subscription($room: ID!) { presenceChanged(room: $room) { online } }',
  typing: 'subscription($room: ID!) { typing(room: $room) { room } }',
};

interface RoomOut {
  id: string;
  name: string;
  kind: string;
  myRole: string | null;
  members: { id: string }[];
}
type Err = { message: string; extensions?: { code?: string } };

/** The first error of a subscription (an `error` frame or a `next` with errors). */
const subError = (errors: unknown[]): Err | undefined => {
  const first = errors[0];
  if (Array.isArray(first)) return first[0] as Err;
  return first as Err | undefined;
};

describe('group rooms and blocking', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  const clients: Client[] = [];
  const tag = randomUUID().slice(0, 6);
  let n = 0;
  const person = (name: string, gw = () => g1) => register(gw(), `${name}_${tag}_${++n}`, name);
  const ws = (s: Session, gw: () => System['gateways'][number]) => {
    const c = wsClient(gw().ws, s.token);
    clients.push(c);
    return c;
  };
  const code = async (url: string, q: string, v: Record<string, unknown>, s: Session) => (await gql(url, q, v, s.token)).errors?.[0]?.extensions?.code ?? 'ok';
  const error = async (url: string, q: string, v: Record<string, unknown>, s: Session) => (await gql(url, q, v, s.token)).errors?.[0];
  const group = async (owner: Session, name: string, members: Session[]) =>
    (await gqlOk<{ createGroup: RoomOut }>(g1, CREATE, { n: name, m: members.map((m) => m.user.id) }, owner.token)).createGroup;
  /** Resolves once `user`'s subscription to the room is live (they are in its presence), as `viewer` sees it on `url`. */
  const live = (url: string, room: string, viewer: Session, user: Session) =>
    eventually(`${user.user.username} live in ${room}`, async () => {
      const d = await gqlOk<{ room: { online: { id: string }[] } }>(url, GET, { r: room }, viewer.token);
      return d.room.online.some((u) => u.id === user.user.id) ? true : undefined;
    });

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2 });
    g1 = sys.gateways[0]!.http;
    g2 = sys.gateways[1]!.http;
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('a group of three: members read, send and see it in their rooms; an outsider is refused everywhere', async () => {
    const [own, ben, cat, out] = await Promise.all([person('own'), person('ben'), person('cat'), person('out')]);
    const g = await group(own, 'Book club', [ben, cat]);
    expect(g).toMatchObject({ name: 'Book club', kind: 'GROUP', myRole: 'OWNER' });
    expect(g.members.map((m) => m.id).sort()).toEqual([own, ben, cat].map((s) => s.user.id).sort());

    const benRooms = (await gqlOk<{ rooms: { id: string; kind: string; myRole: string | null }[] }>(g2, ROOMS, {}, ben.token)).rooms;
    expect(benRooms).toContainEqual({ id: g.id, kind: 'GROUP', myRole: 'MEMBER' });
    expect((await gqlOk<{ rooms: { id: string }[] }>(g1, ROOMS, {}, out.token)).rooms.map((r) => r.id)).not.toContain(g.id);

    const catWs = ws(cat, () => sys.gateways[1]!);
    const added = collect<{ messageAdded: { seq: number; body: string } }>(catWs, SUBS.messageAdded, { room: g.id });
    await live(g2, g.id, ben, cat);
    await gqlOk(g1, SEND, { r: g.id, b: 'hello club', c: randomUUID() }, ben.token);
    expect((await added.until(1))[0]!.messageAdded).toEqual({ seq: 1, body: 'hello club' });
    expect((await gqlOk<{ messages: { messages: unknown[] } }>(g2, HISTORY, { r: g.id }, cat.token)).messages.messages).toHaveLength(1);

    // The outsider, on either gateway: FORBIDDEN, and nothing of the room in the answer.
    for (const url of [g1, g2]) {
      const r = await gql<{ room: unknown }>(url, GET, { r: g.id }, out.token);
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.data?.room ?? null).toBeNull();
      expect(await code(url, HISTORY, { r: g.id }, out)).toBe('FORBIDDEN');
      expect(await code(url, SEND, { r: g.id, b: 'let me in', c: randomUUID() }, out)).toBe('FORBIDDEN');
      expect(await code(url, TYPING, { r: g.id }, out)).toBe('FORBIDDEN');
      expect(await code(url, ADD, { r: g.id, u: out.user.id }, out)).toBe('FORBIDDEN');
    }
    const outWs = ws(out, () => sys.gateways[1]!);
    for (const q of Object.values(SUBS)) {
      const s = collect(outWs, q, { room: g.id });
      const e = await eventually(`the outsider's ${q} refused`, () => subError(s.errors));
      expect(e.extensions?.code, q).toBe('FORBIDDEN');
      expect(s.items).toEqual([]);
    }
  });

  it('roles: only the OWNER changes them, handing over makes the OWNER an ADMIN; OWNER and ADMINs rename; bad input is named', async () => {
    const [own, ben, cat, pub] = await Promise.all([person('own'), person('ben'), person('cat'), person('pub')]);
    const g = await group(own, 'Team', [ben, cat]);
    expect(await code(g1, SET_ROLE, { r: g.id, u: cat.user.id, role: 'ADMIN' }, ben)).toBe('FORBIDDEN');
    expect(await code(g1, RENAME, { r: g.id, n: 'Mine now' }, ben)).toBe('FORBIDDEN');
    expect((await gqlOk<{ setMemberRole: RoomOut }>(g1, SET_ROLE, { r: g.id, u: ben.user.id, role: 'ADMIN' }, own.token)).setMemberRole.myRole).toBe('OWNER');
    expect((await gqlOk<{ room: RoomOut }>(g2, GET, { r: g.id }, ben.token)).room.myRole).toBe('ADMIN');
    expect(await code(g1, SET_ROLE, { r: g.id, u: cat.user.id, role: 'ADMIN' }, ben)).toBe('FORBIDDEN');
    expect((await gqlOk<{ renameRoom: RoomOut }>(g1, RENAME, { r: g.id, n: '  Team A ' }, ben.token)).renameRoom.name).toBe('Team A');
    expect((await gqlOk<{ room: RoomOut }>(g2, GET, { r: g.id }, cat.token)).room.name).toBe('Team A');
    expect(await code(g1, REMOVE, { r: g.id, u: own.user.id }, ben)).toBe('FORBIDDEN');
    expect(await code(g1, LEAVE, { r: g.id }, own)).toBe('CONFLICT');

    const handed = (await gqlOk<{ setMemberRole: RoomOut }>(g1, SET_ROLE, { r: g.id, u: cat.user.id, role: 'OWNER' }, own.token)).setMemberRole;
    expect(handed.myRole).toBe('ADMIN');
    expect((await gqlOk<{ room: RoomOut }>(g2, GET, { r: g.id }, cat.token)).room.myRole).toBe('OWNER');
    // Every member sees everyone's role (the member list): the OWNER first, then ADMINs by name.
    type Roles = { room: { memberRoles: { role: string; user: { id: string } }[] } };
    const roles = 'query($r: ID!) { room(id: $r) { memberRoles { role user { id } } } }';
    expect((await gqlOk<Roles>(g2, roles, { r: g.id }, ben.token)).room.memberRoles).toEqual([
      { role: 'OWNER', user: { id: cat.user.id } },
      { role: 'ADMIN', user: { id: ben.user.id } },
      { role: 'ADMIN', user: { id: own.user.id } },
    ]);
    const lounge = (await gqlOk<{ joinRoom: { memberRoles: unknown[] } }>(g1, 'mutation($n: String!) { joinRoom(name: $n) { memberRoles { role } } }', { n: `lounge-${tag}` }, ben.token)).joinRoom;
    expect(lounge.memberRoles).toEqual([]);
    expect(await code(g1, SET_ROLE, { r: g.id, u: ben.user.id, role: 'MEMBER' }, own)).toBe('FORBIDDEN');

    // Bad input, each named.
    const named = async (q: string, v: Record<string, unknown>, s: Session, c: string, arg: RegExp) => {
      const e = await error(g1, q, v, s);
      expect(e?.extensions?.code, JSON.stringify(v)).toBe(c);
      expect(e?.message, JSON.stringify(v)).toMatch(arg);
    };
    await named(RENAME, { r: g.id, n: '   ' }, cat, 'BAD_USER_INPUT', /name/);
    await named(RENAME, { r: g.id, n: 'x'.repeat(65) }, cat, 'BAD_USER_INPUT', /name/);
    await named(CREATE, { n: '', m: [] }, cat, 'BAD_USER_INPUT', /name/);
    await named(CREATE, { n: 'huge', m: Array.from({ length: 1_001 }, () => randomUUID()) }, cat, 'BAD_USER_INPUT', /members/);
    await named(CREATE, { n: 'ghosts', m: [randomUUID()] }, cat, 'NOT_FOUND', /^members: no user/);
    await named(ADD, { r: g.id, u: randomUUID() }, cat, 'NOT_FOUND', /^userId: no user/);
    await named(ADD, { r: `grp-${randomUUID()}`, u: ben.user.id }, cat, 'NOT_FOUND', /^room: no room/);
    const pubRoom = (await gqlOk<{ joinRoom: { id: string } }>(g1, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: `plaza-${tag}` }, cat.token)).joinRoom.id;
    await named(ADD, { r: pubRoom, u: ben.user.id }, cat, 'BAD_USER_INPUT', /^room: .* public room/);
    await named(REMOVE, { r: pubRoom, u: ben.user.id }, cat, 'BAD_USER_INPUT', /^room:/);
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, DM, { u: pub.user.id }, cat.token)).openDirectRoom.id;
    await named(ADD, { r: dm, u: ben.user.id }, cat, 'BAD_USER_INPUT', /^room: a direct room/);
  });

  it("a removed member's open subscription on another gateway ends at once, and later reads are refused", async () => {
    const [own, ben, cat] = await Promise.all([person('own'), person('ben'), person('cat')]);
    const g = await group(own, 'Soon without cat', [ben, cat]);
    const catWs = ws(cat, () => sys.gateways[1]!);
    const added = collect<{ messageAdded: { seq: number } }>(catWs, SUBS.messageAdded, { room: g.id });
    const typing = collect(catWs, SUBS.typing, { room: g.id });
    await live(g1, g.id, own, cat);
    await gqlOk(g1, SEND, { r: g.id, b: 'one', c: randomUUID() }, ben.token);
    await added.until(1);

    const removedAt = Date.now();
    const after = (await gqlOk<{ removeMember: RoomOut }>(g1, REMOVE, { r: g.id, u: cat.user.id }, own.token)).removeMember;
    expect(after.members.map((m) => m.id)).not.toContain(cat.user.id);
    const ended = await eventually('the removed member’s subscription to end', () => subError(added.errors), 5_000);
    console.log(`groups: a removed member's messageAdded ended ${Date.now() - removedAt} ms after removeMember returned (other gateway)`);
    expect(ended.extensions?.code).toBe('FORBIDDEN');
    expect(subError(await eventually('typing to end too', () => (typing.errors.length ? typing.errors : undefined), 5_000))?.extensions?.code).toBe('FORBIDDEN');

    await gqlOk(g1, SEND, { r: g.id, b: 'two', c: randomUUID() }, ben.token);
    for (const url of [g1, g2]) {
      expect(await code(url, GET, { r: g.id }, cat)).toBe('FORBIDDEN');
      expect(await code(url, HISTORY, { r: g.id }, cat)).toBe('FORBIDDEN');
      expect(await code(url, SEND, { r: g.id, b: 'still here?', c: randomUUID() }, cat)).toBe('FORBIDDEN');
    }
    const again = collect(catWs, SUBS.messageAdded, { room: g.id });
    expect(subError(await eventually('a new subscribe refused', () => (again.errors.length ? again.errors : undefined)))?.extensions?.code).toBe('FORBIDDEN');
    expect(added.items).toHaveLength(1);
    expect((await gqlOk<{ rooms: { id: string }[] }>(g2, ROOMS, {}, cat.token)).rooms.map((r) => r.id)).not.toContain(g.id);

    // A member who leaves is cut off the same way; the owner added back who was removed.
    const benWs = ws(ben, () => sys.gateways[0]!);
    const benAdded = collect(benWs, SUBS.messageAdded, { room: g.id });
    await live(g2, g.id, own, ben);
    expect((await gqlOk<{ leaveRoom: boolean }>(g2, LEAVE, { r: g.id }, ben.token)).leaveRoom).toBe(true);
    expect((await eventually('the leaver’s subscription to end', () => subError(benAdded.errors), 5_000)).extensions?.code).toBe('FORBIDDEN');
    expect((await gqlOk<{ addMember: RoomOut }>(g2, ADD, { r: g.id, u: cat.user.id }, own.token)).addMember.members.map((m) => m.id)).toContain(cat.user.id);
    expect((await gqlOk<{ messages: { messages: unknown[] } }>(g2, HISTORY, { r: g.id }, cat.token)).messages.messages).toHaveLength(2);
  });

  it('records the group events in the audit log (through the outbox and Kafka)', async () => {
    const [own, ben] = await Promise.all([person('own'), person('ben')]);
    const name = `root_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1']);
    expect(created.code, created.out).toBe(0);
    const admin = (await gqlOk<{ login: { token: string } }>(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
    const g = await group(own, 'Audited', []);
    await gqlOk(g1, ADD, { r: g.id, u: ben.user.id }, own.token);
    await gqlOk(g1, SET_ROLE, { r: g.id, u: ben.user.id, role: 'ADMIN' }, own.token);
    await gqlOk(g1, RENAME, { r: g.id, n: 'Audited too' }, own.token);
    await gqlOk(g1, REMOVE, { r: g.id, u: ben.user.id }, own.token);
    const types = await eventually('the group events in the audit log', async () => {
      const d = await gqlOk<{ auditLog: { events: { type: string; data: Record<string, unknown> }[] } }>(g1, 'query($r: ID!) { auditLog(room: $r) { events { type data } } }', { r: g.id }, admin);
      return d.auditLog.events.length >= 5 ? d.auditLog.events : undefined;
    });
    expect(types.map((e) => e.type).sort()).toEqual(['room.created', 'room.member_added', 'room.member_removed', 'room.renamed', 'room.role_changed']);
    expect(types.find((e) => e.type === 'room.created')?.data).toMatchObject({ kind: 'GROUP', members: [own.user.id] });
  });

  it('blocking: the blocked person cannot open a direct room, send into it, or add the blocker to a group', async () => {
    const [ann, bob, cat] = await Promise.all([person('ann'), person('bob'), person('cat')]);
    const dm = (await gqlOk<{ openDirectRoom: { id: string } }>(g1, DM, { u: ann.user.id }, bob.token)).openDirectRoom.id;
    const bobs = await group(bob, "Bob's", [cat]);

    expect(await code(g1, BLOCK, { u: ann.user.id }, ann)).toBe('BAD_USER_INPUT');
    expect(await code(g1, BLOCK, { u: randomUUID() }, ann)).toBe('NOT_FOUND');
    expect((await gqlOk<{ blockUser: boolean }>(g1, BLOCK, { u: bob.user.id }, ann.token)).blockUser).toBe(true);
    expect((await gqlOk<{ blockUser: boolean }>(g2, BLOCK, { u: bob.user.id }, ann.token)).blockUser).toBe(true);
    expect((await gqlOk<{ blockedUsers: { id: string }[] }>(g2, BLOCKED, {}, ann.token)).blockedUsers).toEqual([{ id: bob.user.id }]);

    for (const [q, v] of [
      [DM, { u: ann.user.id }],
      [SEND, { r: dm, b: 'hi ann', c: randomUUID() }],
      [ADD, { r: bobs.id, u: ann.user.id }],
      [CREATE, { n: 'with ann', m: [ann.user.id] }],
    ] as const) {
      const e = await error(g2, q, v, bob);
      expect(e?.extensions?.code, q).toBe('FORBIDDEN');
      expect(e?.message, q).toMatch(/not allowed$/);
      expect(e?.message, q).not.toMatch(/block/i);
    }
    // The blocker may still write; unblocking lifts it all.
    await gqlOk(g1, SEND, { r: dm, b: 'bye bob', c: randomUUID() }, ann.token);
    expect((await gqlOk<{ unblockUser: boolean }>(g1, UNBLOCK, { u: bob.user.id }, ann.token)).unblockUser).toBe(true);
    expect((await gqlOk<{ blockedUsers: unknown[] }>(g1, BLOCKED, {}, ann.token)).blockedUsers).toEqual([]);
    await gqlOk(g2, SEND, { r: dm, b: 'hi again', c: randomUUID() }, bob.token);
    await gqlOk(g2, ADD, { r: bobs.id, u: ann.user.id }, bob.token);
  });
});

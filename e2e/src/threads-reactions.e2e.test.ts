import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { cli, collect, eventually, gql, gqlOk, gqlRetried, register, startSystem, wsClient, type Session, type System } from './harness.js';

/**
 * Threads, reactions and mentions through two gateways and two chat workers: replies take the
 * room's next seq (live and on resume, gap-free) and keep their root's summary exact;
 * concurrent reactions count once each, with `reactedByMe` right for each subscriber; mentions
 * are parsed on the write path.
 */
const SEND = 'mutation($r: ID!, $b: String!, $c: String!, $p: ID) { sendMessage(room: $r, body: $b, clientMsgId: $c, parentId: $p) { id seq parentId } }';
const MSG = 'id seq parentId replyCount lastReplyAt';
const THREAD = `query($root: ID!, $after: Int, $limit: Int) { thread(root: $root, after: $after, limit: $limit) { messages { ${MSG} body } hasMore } }`;
const PAGE = (sel: string) => `query($r: ID!) { messages(room: $r) { messages { ${sel} } } }`;
const REACT = 'mutation($id: ID!, $e: String!) { react(messageId: $id, emoji: $e) { id reactions { emoji count reactedByMe users(limit: 3) { id } } } }';
const UNREACT = 'mutation($id: ID!, $e: String!) { unreact(messageId: $id, emoji: $e) { id reactions { emoji count reactedByMe } } }';
const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';

interface Reaction {
  emoji: string;
  count: number;
  reactedByMe: boolean;
}

describe('threads, reactions and mentions across two gateways', () => {
  let sys: System;
  let g1: string;
  let g2: string;
  let ws2: string;
  let ann: Session;
  let ben: Session;
  let cat: Session;
  let admin: string;
  const tag = randomUUID().slice(0, 6);
  let n = 0;
  const clients: Client[] = [];
  const send = async (url: string, who: Session, r: string, body: string, parent?: string, c = `c-${tag}-${n++}`) =>
    (await gqlOk<{ sendMessage: { id: string; seq: number; parentId: string | null } }>(url, SEND, { r, b: body, c, p: parent ?? null }, who.token)).sendMessage;
  /** A subscription is live once it delivered something: poke (an idempotent change) until it has. */
  const live = (subs: { items: unknown[] }[], poke: () => Promise<unknown>) =>
    eventually('the subscriptions live', async () => {
      if (subs.every((s) => s.items.length > 0)) return true;
      await poke();
      return undefined;
    });
  const refused = async (url: string, query: string, vars: Record<string, unknown>, who: string, code: string, message: RegExp) => {
    const r = await gql(url, query, vars, who);
    expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r.errors)).toBe(code);
    expect(r.errors?.[0]?.message).toMatch(message);
  };

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2, chats: 2 });
    g1 = sys.gateways[0]!.http;
    g2 = sys.gateways[1]!.http;
    ws2 = sys.gateways[1]!.ws;
    [ann, ben, cat] = await Promise.all([register(g1, `ann_${tag}`, 'Ann'), register(g2, `ben_${tag}`, 'Ben'), register(g1, `cat_${tag}`, 'Cat')]);
    const name = `admin_${tag}`;
    expect((await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1'])).code).toBe(0);
    admin = (await gqlOk<{ login: { token: string } }>(g1, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
  });

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  it('a reply takes the next seq, live and on resume, and its root counts its VISIBLE replies', async () => {
    const room = `threads-${tag}`;
    for (const who of [ann, ben, cat]) await gqlOk(g1, JOIN, { n: room }, who.token);
    const c = wsClient(ws2, cat.token);
    clients.push(c);
    // From seq 0: replay then live, so nothing is missed whenever the subscription starts.
    const added = collect<{ messageAdded: { seq: number; parentId: string | null } }>(c, 'subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq parentId } }', { r: room });
    const updated = collect<{ messageUpdated: { id: string; replyCount: number; lastReplyAt: string | null } }>(c, 'subscription($r: ID!) { messageUpdated(room: $r) { id replyCount lastReplyAt } }', { r: room });
    const root = await send(g1, ann, room, 'shall we ship on friday?');
    // Each poke changes something (a repeated reaction shows the room nothing new): toggle 👀.
    let eyes = false;
    await live([updated], () => {
      eyes = !eyes;
      return gqlOk(g2, eyes ? REACT : UNREACT, { id: root.id, e: '👀' }, cat.token);
    });

    const r1 = await send(g1, ben, room, 'yes', root.id);
    const other = await send(g2, cat, room, 'unrelated');
    const r2 = await send(g2, cat, room, 'no, monday', root.id);
    expect([root.seq, r1.seq, other.seq, r2.seq]).toEqual([1, 2, 3, 4]);
    expect([r1.parentId, other.parentId, r2.parentId]).toEqual([root.id, null, root.id]);

    // Live: the replies arrive on messageAdded in seq order, with their parent.
    expect((await added.until(4)).map((e) => [e.messageAdded.seq, e.messageAdded.parentId])).toEqual([[1, null], [2, root.id], [3, null], [4, root.id]]);
    // The root's summary reaches subscribers through messageUpdated (coalesced: the last one is exact).
    await eventually('the root with two replies on messageUpdated', () => updated.items.find((u) => u.messageUpdated.id === root.id && u.messageUpdated.replyCount === 2));

    // Resume with after: the replies again, gap-free.
    const again = collect<{ messageAdded: { seq: number; parentId: string | null } }>(c, 'subscription($r: ID!, $a: Int) { messageAdded(room: $r, after: $a) { seq parentId } }', { r: room, a: 1 });
    expect((await again.until(3)).map((e) => e.messageAdded.seq)).toEqual([2, 3, 4]);

    // The thread: replies only, ascending, paged by seq.
    const t = (await gqlOk<{ thread: { messages: { seq: number; body: string }[]; hasMore: boolean } }>(g1, THREAD, { root: root.id }, ann.token)).thread;
    expect(t).toEqual({ messages: [expect.objectContaining({ seq: 2, body: 'yes' }), expect.objectContaining({ seq: 4, body: 'no, monday' })], hasMore: false });
    const first = (await gqlOk<{ thread: { messages: { seq: number }[]; hasMore: boolean } }>(g2, THREAD, { root: root.id, limit: 1 }, ann.token)).thread;
    expect(first).toEqual({ messages: [expect.objectContaining({ seq: 2 })], hasMore: true });
    const rest = (await gqlOk<{ thread: { messages: { seq: number }[] } }>(g2, THREAD, { root: root.id, after: 2 }, ann.token)).thread;
    expect(rest.messages.map((m) => m.seq)).toEqual([4]);

    // Replies count as unread like other messages: Ann has read her root only.
    expect((await gqlOk<{ room: { unread: number } }>(g1, 'query($r: ID!) { room(id: $r) { unread } }', { r: room }, ann.token)).room.unread).toBe(3);

    // A retried reply (same clientMsgId) is the same message and counts once.
    const retried = await send(g1, cat, room, 'no, monday', root.id, `retry-${tag}`);
    const retriedAgain = await send(g2, cat, room, 'no, monday', root.id, `retry-${tag}`);
    expect(retriedAgain.id).toBe(retried.id);
    const rootNow = async () =>
      (await gqlOk<{ messages: { messages: { id: string; replyCount: number; lastReplyAt: string | null }[] } }>(g1, PAGE(MSG), { r: room }, ann.token)).messages.messages.find((m) => m.id === root.id)!;
    expect((await rootNow()).replyCount).toBe(3);

    // A hidden reply stops counting; a deleted one too; unhiding counts it again.
    await gqlOk(g1, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id: r1.id }, admin);
    expect((await rootNow()).replyCount).toBe(2);
    await gqlOk(g2, 'mutation($id: ID!) { deleteMessage(id: $id) { id } }', { id: retried.id }, cat.token);
    expect((await rootNow()).replyCount).toBe(1);
    await gqlOk(g1, 'mutation($id: ID!) { unhideMessage(id: $id) { id } }', { id: r1.id }, admin);
    const final = await rootNow();
    expect(final.replyCount).toBe(2);
    expect(final.lastReplyAt).not.toBeNull();
    await eventually('the root with its final count on messageUpdated', () => updated.items.at(-1)?.messageUpdated.replyCount === 2 || undefined);

    // Refusals, each saying what is wrong, and nothing stored for them.
    const lastSeqBefore = (await gqlOk<{ room: { lastSeq: number } }>(g1, 'query($r: ID!) { room(id: $r) { lastSeq } }', { r: room }, ann.token)).room.lastSeq;
    await refused(g1, SEND, { r: room, b: 'x', c: `bad1-${tag}`, p: r2.id }, ben.token, 'BAD_USER_INPUT', /is itself a reply/);
    const elsewhere = `elsewhere-${tag}`;
    await gqlOk(g1, JOIN, { n: elsewhere }, ben.token);
    await refused(g1, SEND, { r: elsewhere, b: 'x', c: `bad2-${tag}`, p: root.id }, ben.token, 'BAD_USER_INPUT', /no message .* in this room/);
    await refused(g2, SEND, { r: room, b: 'x', c: `bad3-${tag}`, p: `${room}:999` }, ben.token, 'BAD_USER_INPUT', /no message/);
    await gqlOk(g1, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id: other.id }, admin);
    await refused(g2, SEND, { r: room, b: 'x', c: `bad4-${tag}`, p: other.id }, ben.token, 'BAD_USER_INPUT', /hidden/);
    expect((await gqlOk<{ room: { lastSeq: number } }>(g1, 'query($r: ID!) { room(id: $r) { lastSeq } }', { r: room }, ann.token)).room.lastSeq).toBe(lastSeqBefore);
    await refused(g1, THREAD, { root: r2.id }, ann.token, 'BAD_USER_INPUT', /is a reply/);
    await refused(g1, THREAD, { root: `${room}:999` }, ann.token, 'NOT_FOUND', /no message/);
  });

  it('counts 50 concurrent reactions from two gateways once each, with reactedByMe right for each subscriber', async () => {
    const room = `reactions-${tag}`;
    const people = await Promise.all(Array.from({ length: 50 }, (_, i) => register(i % 2 ? g2 : g1, `r${i}_${tag}`, `Reactor ${i}`)));
    await Promise.all([...people, ann, ben].map((p, i) => gqlOk(i % 2 ? g2 : g1, JOIN, { n: room }, p.token)));
    const m = await send(g1, ann, room, 'react to me');

    // people[0] and Ben (who does not react) watch on the second gateway, each with the same document.
    const SUB = 'subscription($r: ID!) { messageUpdated(room: $r) { id reactions { emoji count reactedByMe } } }';
    const watch = (who: Session) => {
      const c = wsClient(ws2, who.token);
      clients.push(c);
      return collect<{ messageUpdated: { id: string; reactions: Reaction[] } }>(c, SUB, { r: room });
    };
    const reactorSees = watch(people[0]!);
    const benSees = watch(ben);
    // Live once an update arrived: Ben toggles his own 🎉 (a repeat would show nothing new), and
    // leaves it off. Each toggle is one event in the audit log, counted below.
    const toggles = { reacted: 0, unreacted: 0 };
    const toggle = (on: boolean) => {
      toggles[on ? 'reacted' : 'unreacted']++;
      return gqlOk(g2, on ? REACT : UNREACT, { id: m.id, e: '🎉' }, ben.token);
    };
    await live([reactorSees, benSees], () => toggle(toggles.reacted === toggles.unreacted));
    if (toggles.reacted > toggles.unreacted) await toggle(false);

    // 50 at once, half through each gateway, and every one of them twice. A burst of 100 onto a
    // cold system may meet admission control (UNAVAILABLE: nothing was done, retry after N s);
    // the callers retry as a client does, and every retry must still count once.
    const all = await Promise.all(people.flatMap((p, i) => [0, 1].map(() => gqlRetried(i % 2 ? g2 : g1, REACT, { id: m.id, e: '👍' }, p.token))));
    expect(all.filter((r) => r.errors)).toEqual([]);

    const reactionsAs = async (who: Session) =>
      (await gqlOk<{ messages: { messages: { id: string; reactions: Reaction[] }[] } }>(g1, PAGE('id reactions { emoji count reactedByMe }'), { r: room }, who.token)).messages.messages.find((x) => x.id === m.id)!.reactions;
    expect(await reactionsAs(people[7]!)).toEqual([{ emoji: '👍', count: 50, reactedByMe: true }]);
    expect(await reactionsAs(ben)).toEqual([{ emoji: '👍', count: 50, reactedByMe: false }]);

    // Each subscriber's last update: count 50, and reactedByMe as it is for that person.
    const last = (s: typeof benSees) => s.items.at(-1)?.messageUpdated.reactions;
    await eventually('the reactor sees 50 and reactedByMe', () => (last(reactorSees)?.[0]?.count === 50 ? true : undefined));
    await eventually('Ben sees 50', () => (last(benSees)?.[0]?.count === 50 ? true : undefined));
    expect(last(reactorSees)).toEqual([{ emoji: '👍', count: 50, reactedByMe: true }]);
    expect(last(benSees)).toEqual([{ emoji: '👍', count: 50, reactedByMe: false }]);
    // Never, in any update, did Ben see reactedByMe true for 👍, nor the reactor false once counted.
    expect(benSees.items.flatMap((u) => u.messageUpdated.reactions).some((r) => r.emoji === '👍' && r.reactedByMe)).toBe(false);

    // Taking it back: 49, and reactedByMe false for that person; twice is a no-op.
    const back = (await gqlOk<{ unreact: { reactions: Reaction[] } }>(g2, UNREACT, { id: m.id, e: '👍' }, people[0]!.token)).unreact;
    expect(back.reactions).toEqual([{ emoji: '👍', count: 49, reactedByMe: false }]);
    expect((await gqlOk<{ unreact: { reactions: Reaction[] } }>(g1, UNREACT, { id: m.id, e: '👍' }, people[0]!.token)).unreact.reactions[0]?.count).toBe(49);
    await eventually('the reactor sees 49 and not reactedByMe', () => (last(reactorSees)?.[0]?.count === 49 ? true : undefined));
    expect(last(reactorSees)).toEqual([{ emoji: '👍', count: 49, reactedByMe: false }]);

    // The reaction events went through the outbox and Kafka into the audit log: the 50 and Ben's
    // toggles reacted (the repeats wrote none), people[0]'s 👍 and Ben's toggles unreacted.
    const counts = await eventually('the reaction events in the audit log', async () => {
      const d = await gqlOk<{ auditLog: { events: { type: string }[] } }>(g1, 'query($r: ID!) { auditLog(room: $r, limit: 500) { events { type } } }', { r: room }, admin);
      const reacted = d.auditLog.events.filter((e) => e.type === 'message.reacted').length;
      const unreacted = d.auditLog.events.filter((e) => e.type === 'message.unreacted').length;
      return reacted >= 50 + toggles.reacted && unreacted >= 1 + toggles.unreacted ? { reacted, unreacted } : undefined;
    }, 30_000);
    expect(counts).toEqual({ reacted: 50 + toggles.reacted, unreacted: 1 + toggles.unreacted });
  });

  it('refuses bad emoji, a 21st emoji, reactions to hidden messages and from outsiders', async () => {
    const room = `react-bad-${tag}`;
    for (const who of [ann, ben]) await gqlOk(g1, JOIN, { n: room }, who.token);
    const m = await send(g1, ann, room, 'limits');
    for (const e of ['a', '👍👍', '', ':Bad:']) await refused(g1, REACT, { id: m.id, e }, ben.token, 'BAD_USER_INPUT', /emoji/);
    const twenty = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰', '😗', '😙', '🥲', '😚', ':tada:'];
    await Promise.all(twenty.map((e, i) => gqlOk(i % 2 ? g2 : g1, REACT, { id: m.id, e }, i % 3 ? ann.token : ben.token)));
    await refused(g2, REACT, { id: m.id, e: '🙂' }, ben.token, 'CONFLICT', /20 different emoji/);
    // One of the twenty still works for someone else.
    expect((await gqlOk<{ react: { reactions: Reaction[] } }>(g1, REACT, { id: m.id, e: '😀' }, ben.token)).react.reactions).toHaveLength(20);
    await refused(g1, REACT, { id: `${room}:999`, e: '👍' }, ben.token, 'NOT_FOUND', /no message/);
    // Cat never joined the room: reacting is posting.
    await refused(g1, REACT, { id: m.id, e: '👍' }, cat.token, 'FORBIDDEN', /join/);
    await gqlOk(g1, 'mutation($id: ID!) { hideMessage(id: $id, reason: "test") { id } }', { id: m.id }, admin);
    await refused(g2, REACT, { id: m.id, e: '👍' }, ben.token, 'BAD_USER_INPUT', /hidden/);
  });

  it('parses @username of members and @room on the write path, and follows edits', async () => {
    const room = `mentions-${tag}`;
    for (const who of [ann, ben, cat]) await gqlOk(g1, JOIN, { n: room }, who.token);
    const outsider = await register(g2, `out_${tag}`, 'Outsider');
    const SEL = 'id mentionsRoom mentions { id }';
    const m = await send(g1, ann, room, `@ben_${tag} and @${outsider.user.username}, cc @ann_${tag}`);
    const read = async () =>
      (await gqlOk<{ messages: { messages: { id: string; mentionsRoom: boolean; mentions: { id: string }[] }[] } }>(g2, PAGE(SEL), { r: room }, cat.token)).messages.messages.find((x) => x.id === m.id)!;
    // Ben is a member; the outsider is not, and Ann is the author.
    expect(await read()).toEqual({ id: m.id, mentionsRoom: false, mentions: [{ id: ben.user.id }] });
    const mentionsOf = async (who: Session) => (await gqlOk<{ room: { mentions: number } }>(g1, 'query($r: ID!) { room(id: $r) { mentions } }', { r: room }, who.token)).room.mentions;
    expect([await mentionsOf(ben), await mentionsOf(cat)]).toEqual([1, 0]);
    await gqlOk(g1, 'mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { id } }', { id: m.id, b: `now @cat_${tag} and @room` }, ann.token);
    expect(await read()).toEqual({ id: m.id, mentionsRoom: true, mentions: [{ id: cat.user.id }] });
    // The edit's new mention counts for Cat, who has not read it; Ben's, already notified, stays.
    expect([await mentionsOf(ben), await mentionsOf(cat)]).toEqual([1, 1]);
  });
});

/**
 * Limits that slow people down instead of punishing them (issue 14, point 2), under the default
 * configuration: no rules file, no limits overridden. A burst of 20 goes in (a wait of a second
 * or two at most, retried with the same clientMsgId); a flood of 45 is answered RATE_LIMITED,
 * not muted; an admin's slow mode holds a second message back for the seconds left.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, eventually, gql, gqlOk, register, startSystem, type Session, type System } from './harness.js';

const JOIN = 'mutation($n: String!) { joinRoom(name: $n) { id } }';
const SEND = 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id seq clientMsgId status } }';
const HISTORY = 'query($r: ID!) { messages(room: $r, after: 0, limit: 200) { messages { seq body status clientMsgId author { id } } } }';
const ACTIONS = 'query($t: ID) { moderationActions(target: $t) { kind rule target room } }';
const SLOW = 'mutation($r: ID!, $s: Int!) { setSlowMode(room: $r, seconds: $s) { id slowModeSeconds } }';
const ROOM = 'query($r: ID!) { room(id: $r) { slowModeSeconds } }';

interface Sent {
  sendMessage: { id: string; seq: number; clientMsgId: string; status: string };
}
type Outcome = { ok: true; seq: number } | { ok: false; code: string | undefined; retryAfter: number | undefined; message: string };

describe('rate limits and slow mode under the default configuration', () => {
  let sys: System;
  let http: string;
  let admin: string;
  const tag = randomUUID().slice(0, 6);

  beforeAll(async () => {
    // The defaults: no MODERATION_RULES_FILE, no RATE_LIMIT_* (the harness sets neither).
    sys = await startSystem();
    http = sys.gateways[0]!.http;
    const name = `root_${tag}`;
    const created = await cli(sys.env, ['admin', 'create', name, '--password', 'admin-password-1']);
    expect(created.code, created.out).toBe(0);
    admin = (await gqlOk<{ login: { token: string } }>(http, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: name, p: 'admin-password-1' })).login.token;
  });

  afterAll(async () => {
    await sys?.stop();
  });

  async function send(s: Session, room: string, body: string, clientMsgId: string): Promise<Outcome> {
    const r = await gql<Sent & { errors?: never }>(http, SEND, { r: room, b: body, c: clientMsgId }, s.token);
    if (r.data?.sendMessage) return { ok: true, seq: r.data.sendMessage.seq };
    const e = r.errors?.[0] as { message: string; extensions?: { code?: string; retryAfter?: number } } | undefined;
    return { ok: false, code: e?.extensions?.code, retryAfter: e?.extensions?.retryAfter, message: e?.message ?? '' };
  }

  /** A person in a fresh room of this test. */
  async function person(name: string, room: string): Promise<Session> {
    const s = await register(http, `${name}_${tag}`, name);
    await gqlOk(http, JOIN, { n: room }, s.token);
    return s;
  }

  /**
   * Waits until moderation has looked at everything `who` sent to `room` so far: another person
   * posts a banned word there and the rule's hide comes back. Events are keyed by room, so the
   * moderation consumer sees that message after all of the earlier ones, and would have emitted
   * any action of theirs before this hide.
   */
  async function moderationCaughtUp(room: string): Promise<void> {
    const witness = await person(`witness${randomUUID().slice(0, 4)}`, room);
    const r = await gqlOk<Sent>(http, SEND, { r: room, b: 'what a load of shit', c: `witness-${randomUUID()}` }, witness.token);
    await eventually('moderation to hide the witness message', async () => {
      const d = await gqlOk<{ moderationActions: { kind: string }[] }>(http, ACTIONS, { t: r.sendMessage.id }, admin);
      return d.moderationActions.some((a) => a.kind === 'hide') ? true : undefined;
    }, 30_000);
  }

  it('lets a burst of 20 in: any RATE_LIMITED waits at most a couple of seconds, retried with the same clientMsgId; all 20 stored in order, nobody muted', async () => {
    const room = `burst-${tag}`;
    const ann = await person('ann', room);
    const started = Date.now();
    const refusals: Outcome[] = [];
    const seqs: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const clientMsgId = `burst-${i}`;
      for (;;) {
        const o = await send(ann, room, `pasted line ${i}: ${randomUUID()}`, clientMsgId);
        if (o.ok) {
          seqs.push(o.seq);
          break;
        }
        refusals.push(o);
        expect(o.code, o.message).toBe('RATE_LIMITED');
        expect(o.retryAfter).toBeGreaterThanOrEqual(1);
        expect(o.retryAfter).toBeLessThanOrEqual(2);
        await new Promise((r) => setTimeout(r, o.retryAfter! * 1_000)); // the wait the server asked for
      }
    }
    console.log(`rate limits: a burst of 20 took ${Date.now() - started} ms, ${refusals.length} RATE_LIMITED answers on the way`);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    const stored = (await gqlOk<{ messages: { messages: { seq: number; status: string; clientMsgId: string; author: { id: string } }[] } }>(http, HISTORY, { r: room }, ann.token)).messages.messages;
    expect(stored.map((m) => m.clientMsgId)).toEqual(Array.from({ length: 20 }, (_, i) => `burst-${i + 1}`));
    expect(stored.every((m) => m.status === 'VISIBLE' && m.author.id === ann.user.id)).toBe(true);

    await moderationCaughtUp(room);
    const actions = await gqlOk<{ moderationActions: unknown[] }>(http, ACTIONS, { t: ann.user.id }, admin);
    expect(actions.moderationActions).toEqual([]);
    // Still allowed to speak (not muted): at most a rate limit's short wait, as a client would do it.
    let after = await send(ann, room, 'still allowed to speak', 'burst-after');
    for (let i = 0; !after.ok && after.code === 'RATE_LIMITED' && i < 3; i++) {
      await new Promise((r) => setTimeout(r, (after.ok ? 0 : (after.retryAfter ?? 1)) * 1_000)); // the wait the server asked for
      after = await send(ann, room, 'still allowed to speak', 'burst-after');
    }
    expect(after).toMatchObject({ ok: true, seq: 22 });
  });

  it('answers a flood of 45 sent at once with RATE_LIMITED and a short retryAfter, not with a mute', async () => {
    const room = `flood-${tag}`;
    const ben = await person('ben', room);
    const outcomes = await Promise.all(Array.from({ length: 45 }, (_, i) => send(ben, room, `flood ${i} ${randomUUID()}`, `flood-${i}`)));
    const accepted = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    console.log(`rate limits: a flood of 45 at once: ${accepted.length} accepted, ${refused.length} RATE_LIMITED`);
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    expect(accepted.length).toBeLessThanOrEqual(25); // the burst, and what refilled meanwhile
    expect(refused.length).toBeGreaterThanOrEqual(20);
    for (const o of refused) {
      expect(o.code, o.message).toBe('RATE_LIMITED');
      expect(o.retryAfter).toBeGreaterThanOrEqual(1);
      expect(o.retryAfter).toBeLessThanOrEqual(2);
    }
    // Hammering on without waiting is refused again…
    const again = await send(ben, room, 'more', `flood-${outcomes.indexOf(refused[0]!)}`);
    expect(again).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    // …and a refused message sent again with its clientMsgId after the wait goes in, once.
    const first = outcomes.findIndex((o) => !o.ok);
    await new Promise((r) => setTimeout(r, (again.ok ? 1 : (again.retryAfter ?? 1)) * 1_000));
    const retried = await send(ben, room, 'the retried one', `flood-${first}`);
    expect(retried).toMatchObject({ ok: true });

    await moderationCaughtUp(room);
    const actions = await gqlOk<{ moderationActions: unknown[] }>(http, ACTIONS, { t: ben.user.id }, admin);
    expect(actions.moderationActions).toEqual([]);
  });

  it('slow mode: set by an admin only; a second message within the interval waits the seconds left; admins are exempt', async () => {
    const room = `slow-${tag}`;
    const cat = await person('cat', room);
    expect((await gqlOk<{ room: { slowModeSeconds: number } }>(http, ROOM, { r: room }, cat.token)).room.slowModeSeconds).toBe(0);

    const denied = await gql(http, SLOW, { r: room, s: 3 }, cat.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(http, SLOW, { r: room, s: 3_601 }, admin)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(http, SLOW, { r: `nowhere-${tag}`, s: 3 }, admin)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const set = await gqlOk<{ setSlowMode: { id: string; slowModeSeconds: number } }>(http, SLOW, { r: room, s: 3 }, admin);
    expect(set.setSlowMode).toEqual({ id: room, slowModeSeconds: 3 });
    expect((await gqlOk<{ room: { slowModeSeconds: number } }>(http, ROOM, { r: room }, cat.token)).room.slowModeSeconds).toBe(3);

    expect(await send(cat, room, 'first', 'slow-1')).toMatchObject({ ok: true, seq: 1 });
    const second = await send(cat, room, 'second', 'slow-2');
    expect(second).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    if (second.ok) throw new Error('unreachable');
    expect(second.retryAfter).toBeGreaterThanOrEqual(1);
    expect(second.retryAfter).toBeLessThanOrEqual(3);
    expect(second.message).toMatch(/slow mode/);
    // The retry of the message that went through is not held back (its answer may have been lost).
    expect(await send(cat, room, 'first', 'slow-1')).toMatchObject({ ok: true, seq: 1 });
    // Admins are exempt.
    const adminSession = { token: admin, user: { id: '', username: '', displayName: '' } };
    await gqlOk(http, JOIN, { n: room }, admin);
    expect(await send(adminSession, room, 'admin one', 'slow-admin-1')).toMatchObject({ ok: true });
    expect(await send(adminSession, room, 'admin two', 'slow-admin-2')).toMatchObject({ ok: true });
    // After the wait it asked for, the same message goes in.
    await new Promise((r) => setTimeout(r, second.retryAfter! * 1_000));
    expect(await send(cat, room, 'second', 'slow-2')).toMatchObject({ ok: true, seq: 4 });

    // Off again: back to back is fine; the change is in the audit log with the admin as actor.
    await gqlOk(http, SLOW, { r: room, s: 0 }, admin);
    expect(await send(cat, room, 'third', 'slow-3')).toMatchObject({ ok: true });
    expect(await send(cat, room, 'fourth', 'slow-4')).toMatchObject({ ok: true });
    const audited = await eventually('the slow mode changes in the audit log', async () => {
      const d = await gqlOk<{ auditLog: { events: { type: string; data: { seconds: number; previousSeconds: number } }[] } }>(
        http,
        'query($r: ID!) { auditLog(room: $r, type: "room.slowModeSet") { events { type data } } }',
        { r: room },
        admin,
      );
      return d.auditLog.events.length >= 2 ? d.auditLog.events : undefined;
    });
    expect(audited.map((e) => [e.data.previousSeconds, e.data.seconds])).toEqual([
      [0, 3],
      [3, 0],
    ]);
  });
});

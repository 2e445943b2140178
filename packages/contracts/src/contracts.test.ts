import { describe, expect, it } from 'vitest';
import { Command, DomainEvent, RoomSignal, eventRoom, names, newEvent, parseAccessSignal, parseCommandResult, roomSlug } from './index.js';

const user = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const message = {
  id: 'm1',
  room: 'general',
  seq: 1,
  author: user,
  body: 'hi',
  status: 'VISIBLE' as const,
  clientMsgId: 'c1',
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  pinned: false,
};

describe('names', () => {
  it('derives every boundary name from the namespace', () => {
    const n = names('acme');
    expect([n.eventsTopic, n.moderationTopic, n.deadLetterTopic, n.auditGroup, n.roomChannel('general')]).toEqual([
      'acme.events',
      'acme.moderation.actions',
      'acme.dlq',
      'acme-audit',
      'acme:room:general',
    ]);
  });
  it("names the gateway's Redis keys inside the namespace; keys the Lua scripts build extend a prefix", () => {
    const n = names('acme');
    expect([n.typingThrottle('r', 'u'), n.rateLimit('send', 'u'), n.roomSendBucket('r', 'u'), n.loginFailuresByUser('ann'), n.loginFailuresByAddress('::1'), n.userSockets('u')]).toEqual([
      'acme:typing:r:u',
      'acme:rl:send:u',
      'acme:rl:room-send:r:u',
      'acme:login:user:ann',
      'acme:login:addr:::1',
      'acme:user-sockets:u',
    ]);
    // The Lua scripts build these keys as the key of '' followed by the id.
    expect(n.presenceUsers('general', 'g1')).toBe(`${n.presenceUsers('general', '')}g1`);
    expect(n.gatewayAlive('g1')).toBe(`${n.gatewayAlive('')}g1`);
    expect(n.userSockets('u1')).toBe(`${n.userSockets('')}u1`);
    expect([n.gateways, n.gatewayScopes('g1'), n.gatewaySocketUsers('g1'), n.presenceGateways('general')]).toEqual([
      'acme:gateways',
      'acme:gateway-scopes:g1',
      'acme:gateway-socket-users:g1',
      'acme:presence-gateways:general',
    ]);
  });
  it('refuses a namespace that could collide or break a key', () => {
    expect(() => names('Acme:x')).toThrow(/namespace must match/);
  });
});

describe('commands', () => {
  it('parses a valid command and names the field of an invalid one', () => {
    expect(Command.parse({ type: 'message.send', actor: 'u1', room: 'general', body: 'hi', clientMsgId: 'c1' }).type).toBe('message.send');
    const bad = Command.safeParse({ type: 'message.send', actor: 'u1', room: 'general', body: '', clientMsgId: 'c1' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['body']);
    expect(Command.safeParse({ type: 'message.explode' }).success).toBe(false);
  });
  it('parses results of both kinds and refuses a result of the wrong shape', () => {
    expect(parseCommandResult('room.leave', { ok: true, value: { left: true } })).toEqual({ ok: true, value: { left: true } });
    expect(parseCommandResult('room.leave', { ok: false, error: { code: 'NOT_FOUND', message: 'no' } }).ok).toBe(false);
    expect(() => parseCommandResult('room.leave', { ok: true, value: { message: message } })).toThrow();
    expect(() => parseCommandResult('room.leave', { ok: false, error: { code: 'TEAPOT', message: 'no' } })).toThrow();
  });
});

describe('events', () => {
  it('builds envelopes that parse, with a fresh uuid each time', () => {
    const a = newEvent('message.posted', 'general', 'u1', { message });
    const b = newEvent('message.posted', 'general', 'u1', { message });
    expect(DomainEvent.parse(a)).toEqual(a);
    expect(a.id).not.toBe(b.id);
    expect(a.version).toBe(1);
  });
  it('reads a message of an older payload, without `pinned`, as not pinned', () => {
    const { pinned: _, ...older } = message;
    const parsed = DomainEvent.parse(newEvent('message.posted', 'general', 'u1', { message: older as typeof message }));
    expect(parsed.type === 'message.posted' && parsed.data.message.pinned).toBe(false);
  });
  it('carries pins and unpins with the message and who did it, in the message\'s room', () => {
    const pinned = newEvent('message.pinned', 'general', 'u2', { message: { ...message, pinned: true }, by: 'u2' });
    expect(DomainEvent.parse(pinned)).toEqual(pinned);
    expect(eventRoom(pinned)).toBe('general');
    const unpinned = newEvent('message.unpinned', 'general', 'u2', { message, by: 'u2' });
    expect(DomainEvent.parse(unpinned)).toEqual(unpinned);
    expect(DomainEvent.safeParse({ ...unpinned, data: { message } }).success).toBe(false);
    expect(Command.parse({ type: 'message.pin', actor: 'u2', id: 'm1' }).type).toBe('message.pin');
    expect(Command.safeParse({ type: 'message.unpin', actor: 'u2' }).success).toBe(false);
  });
  it('refuses an event whose data does not match its type', () => {
    const e = { ...newEvent('room.joined', 'general', 'u1', { room: 'general', user: 'u1' }), type: 'message.posted' };
    expect(DomainEvent.safeParse(e).success).toBe(false);
  });
});

describe('room signals and slugs', () => {
  it('parses the signals a room channel carries', () => {
    expect(RoomSignal.parse({ kind: 'typing', user }).kind).toBe('typing');
    expect(RoomSignal.safeParse({ kind: 'presence', user }).success).toBe(false);
  });
  it('turns names into slugs', () => {
    expect(roomSlug(' Hello  World ')).toBe('hello-world');
    expect(roomSlug('Ação!')).toBe('acao');
    expect(roomSlug('<script>')).toBe('script');
  });
});

describe('access signals', () => {
  it('name the user, the room (null: every room) and why; anything else is refused', () => {
    expect(names('acme').accessChannel).toBe('acme:access');
    const s = { kind: 'access.revoked', user: 'u1', room: 'general', reason: 'muted' } as const;
    expect(parseAccessSignal(s)).toEqual(s);
    expect(parseAccessSignal({ ...s, room: null, reason: 'banned' }).room).toBeNull();
    expect(() => parseAccessSignal({ ...s, reason: 'bored' })).toThrow();
    expect(() => parseAccessSignal({ ...s, user: { $ne: null } })).toThrow();
  });
});

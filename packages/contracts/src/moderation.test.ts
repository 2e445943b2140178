import { describe, expect, it } from 'vitest';
import { Command, DomainEvent, ModerationAction, names, newEvent, parseCommandResult } from './index.js';

const action = {
  id: '6f1c1d7e-2b7a-4c55-9d7e-0a1b2c3d4e5f',
  kind: 'mute' as const,
  target: 'u1',
  room: 'general',
  reason: 'flooding',
  rule: 'flood',
  by: null,
  at: '2026-01-01T00:00:00.000Z',
  until: '2026-01-01T00:10:00.000Z',
};

describe('ModerationAction', () => {
  it('parses an action and the moderation.action event that carries it', () => {
    expect(ModerationAction.parse(action)).toEqual(action);
    const e = newEvent('moderation.action', 'general', null, { action });
    expect(DomainEvent.parse(e)).toEqual(e);
  });
  it('refuses an unknown kind, a missing reason and an until before at', () => {
    expect(ModerationAction.safeParse({ ...action, kind: 'explode' }).success).toBe(false);
    expect(ModerationAction.safeParse({ ...action, reason: '' }).success).toBe(false);
    const early = ModerationAction.safeParse({ ...action, until: '2025-12-31T23:59:59Z' });
    expect(early.error?.issues[0]?.path).toEqual(['until']);
  });
});

describe('moderation commands and names', () => {
  it('parses admin commands, defaulting a mute to everywhere', () => {
    const mute = Command.parse({ type: 'user.mute', actor: 'admin', user: 'u1', minutes: 0.5, reason: 'spam' });
    expect(mute).toMatchObject({ type: 'user.mute', room: null, minutes: 0.5 });
    expect(Command.safeParse({ type: 'user.mute', actor: 'admin', user: 'u1', minutes: 0, reason: 'spam' }).success).toBe(false);
    expect(Command.safeParse({ type: 'message.hide', actor: 'admin', id: 'm1' }).success).toBe(false);
    expect(parseCommandResult('user.unmute', { ok: true, value: { action: { ...action, kind: 'unmute', until: null } } }).ok).toBe(true);
  });
  it('names the moderation groups and timer queue after the namespace', () => {
    const n = names('acme');
    expect([n.moderationGroup, n.chatModerationGroup, n.moderationTimerQueue]).toEqual(['acme-moderation', 'acme-chat-moderation', 'moderation-timers']);
  });
});

import { describe, expect, it } from 'vitest';
import { newEvent, parseModerationAction } from '@conversa/contracts';
import { actionRecord, messageFacts } from './moderation-consumer.js';

const at = new Date('2026-01-01T12:00:00.000Z');
const author = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const message = { id: 'm1', room: 'general', seq: 1, author, body: 'hi', status: 'VISIBLE' as const, clientMsgId: 'c', createdAt: at.toISOString(), editedAt: null, pinned: false };

describe('messageFacts', () => {
  it('takes posted and edited messages, with event time', () => {
    const posted = newEvent('message.posted', 'general', 'u1', { message }, at);
    expect(messageFacts(posted)).toEqual({ eventId: posted.id, kind: 'posted', messageId: 'm1', room: 'general', authorId: 'u1', authorRole: 'USER', body: 'hi', at: at.getTime() });
    expect(messageFacts(newEvent('message.edited', 'general', 'u1', { message, previousBody: 'x' }, at))?.kind).toBe('edited');
  });
  it('leaves out everything else', () => {
    expect(messageFacts(newEvent('room.joined', 'general', 'u1', { room: 'general', user: 'u1' }))).toBeUndefined();
    expect(messageFacts(newEvent('message.deleted', 'general', 'u1', { message: { ...message, status: 'DELETED' }, by: 'u1' }))).toBeUndefined();
  });
});

describe('actionRecord', () => {
  it('keys an action by its target and carries id, kind and version in headers', () => {
    const a = { id: '6f1c1d7e-2b7a-4c55-9d7e-0a1b2c3d4e5f', kind: 'mute' as const, target: 'u1', room: 'general', reason: 'r', rule: 'flood', by: null, at: at.toISOString(), until: '2026-01-01T12:10:00.000Z' };
    const r = actionRecord(a);
    expect(r.key).toBe('u1');
    expect(r.headers).toEqual({ 'action-id': a.id, 'action-kind': 'mute', 'action-version': '1' });
    expect(parseModerationAction(JSON.parse(r.value))).toEqual(a);
  });
});

import { describe, expect, it } from 'vitest';
import { IdArgs, JoinRoomArgs, LoginArgs, MessagesArgs, RegisterArgs, RoomArgs, SendMessageArgs, parseArgs } from './validation.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    expect((e as { code?: string }).code).toBe('BAD_USER_INPUT');
    return (e as Error).message;
  }
}

describe('argument validation', () => {
  it('normalizes usernames and bodies', () => {
    expect(parseArgs(RegisterArgs, { username: ' Ann_1 ', password: 'long enough' }).username).toBe('ann_1');
    expect(parseArgs(SendMessageArgs, { room: 'r', body: '  hi \n', clientMsgId: 'c' }).body).toBe('hi');
  });
  it('names the field and the rule that failed', () => {
    expect(messageOf(() => parseArgs(RegisterArgs, { username: 'a!', password: 'long enough' }))).toMatch(/^username: 3-32 characters/);
    expect(messageOf(() => parseArgs(RegisterArgs, { username: 'ann', password: 'short' }))).toMatch(/^password: password needs at least 8/);
    expect(messageOf(() => parseArgs(SendMessageArgs, { room: 'r', body: ' ', clientMsgId: 'c' }))).toMatch(/^body: a message cannot be empty/);
    expect(messageOf(() => parseArgs(SendMessageArgs, { room: 'r', body: 'x'.repeat(4_001), clientMsgId: 'c' }))).toMatch(/^body: .*4000/);
    expect(messageOf(() => parseArgs(SendMessageArgs, { room: 'r', body: 'hi', clientMsgId: 'a\u0000b' }))).toMatch(/^clientMsgId: .*control characters/);
  });
  it('bounds history paging', () => {
    expect(parseArgs(MessagesArgs, { room: 'r' }).limit).toBe(50);
    expect(messageOf(() => parseArgs(MessagesArgs, { room: 'r', limit: 201 }))).toMatch(/limit must be 1..200/);
    expect(messageOf(() => parseArgs(MessagesArgs, { room: 'r', limit: 0 }))).toMatch(/limit must be 1..200/);
    expect(messageOf(() => parseArgs(MessagesArgs, { room: 'r', before: 5, after: 1 }))).toMatch(/before or after, not both/);
  });
  it('refuses prototype keys, white space in ids, controls and bidi overrides', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expect(messageOf(() => parseArgs(RoomArgs, { room: key }))).toMatch(/^room: id is not a valid id/);
      expect(messageOf(() => parseArgs(IdArgs, { id: key }))).toMatch(/^id: /);
    }
    expect(messageOf(() => parseArgs(RegisterArgs, { username: 'Constructor', password: 'long enough' }))).toMatch(/^username: username is reserved/);
    expect(messageOf(() => parseArgs(JoinRoomArgs, { name: ' Constructor ' }))).toMatch(/^name: name is reserved/);
    expect(messageOf(() => parseArgs(RoomArgs, { room: 'a b' }))).toMatch(/white space/);
    expect(messageOf(() => parseArgs(SendMessageArgs, { room: 'r', body: 'a\u001bb', clientMsgId: 'c' }))).toMatch(/^body: body contains control characters/);
    expect(parseArgs(SendMessageArgs, { room: 'r', body: 'two\nlines\ttab', clientMsgId: 'c' }).body).toBe('two\nlines\ttab');
    expect(messageOf(() => parseArgs(RegisterArgs, { username: 'ann', password: 'long enough', displayName: 'evil\u202Egnp.exe' }))).toMatch(/bidirectional/);
  });
  it('normalizes logins like registrations: lower-cased name, NFC password', () => {
    const a = parseArgs(LoginArgs, { username: ' Ann ', password: 'cafe\u0301' });
    expect(a).toEqual({ username: 'ann', password: 'caf\u00e9' });
  });
});

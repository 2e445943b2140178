import { describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import { exportLine, formatEventLine, formatVerifyReport, parseTime } from './audit.js';

const at = new Date('2026-01-01T12:00:00.000Z');
const user = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const message = { id: 'm1', room: 'general', seq: 3, author: user, body: 'hello there', status: 'VISIBLE' as const, clientMsgId: 'c', createdAt: at.toISOString(), editedAt: null, pinned: false };
const id = '00000000-0000-4000-8000-000000000001';

describe('audit CLI output', () => {
  it('prints one line per event with its room, actor, id and what happened', () => {
    expect(formatEventLine(newEvent('message.posted', 'general', 'u1', { message }, at, id))).toBe(
      `2026-01-01T12:00:00.000Z message.posted    room=general actor=u1 id=${id} #3 "hello there"`,
    );
    const action = { id, kind: 'mute' as const, target: 'u1', room: null, reason: 'flood', rule: 'flood', by: null, at: at.toISOString(), until: '2026-01-01T12:10:00.000Z' };
    expect(formatEventLine(newEvent('moderation.action', 'u1', null, { action }, at, id))).toMatch(
      /moderation.action room=- actor=- id=\S+ mute u1 until 2026-01-01T12:10:00.000Z rule=flood by=-: flood$/,
    );
    expect(formatEventLine(newEvent('room.joined', 'general', 'u1', { room: 'general', user: 'u1' }, at, id))).toMatch(/room.joined +room=general actor=u1 id=\S+ u1$/);
  });

  it('reports a verified log and a broken one', () => {
    expect(formatVerifyReport({ ok: true, entries: 10, chains: 3, unchained: 0 })).toBe('audit log verified: 10 entries in 3 chains, every link intact');
    expect(formatVerifyReport({ ok: true, entries: 10, chains: 3, unchained: 2 })).toMatch(/2 older entries predate the chains/);
    expect(
      formatVerifyReport({ ok: false, entries: 4, chains: 1, unchained: 0, broken: { chain: 'general', seq: 4, eventId: id, problem: 'altered' } }),
    ).toBe(`audit log BROKEN: chain general, seq 4, event ${id}: altered`);
  });

  it('exports every stored field as one JSON line', () => {
    const line = exportLine({ _id: id, type: 'room.joined', version: 1, room: 'general', actor: 'u1', key: 'general', at, recordedAt: at, data: { room: 'general', user: 'u1' }, chain: 'general', chainSeq: 1, prevHash: '0', hash: 'h' });
    expect(JSON.parse(line)).toEqual({ id, type: 'room.joined', version: 1, room: 'general', actor: 'u1', key: 'general', at: at.toISOString(), recordedAt: at.toISOString(), data: { room: 'general', user: 'u1' }, chain: 'general', chainSeq: 1, prevHash: '0', hash: 'h' });
  });

  it('parses time flags and names a bad one', () => {
    expect(parseTime('--since', undefined)).toBeUndefined();
    expect(parseTime('--since', '2026-01-01T00:00:00Z')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(() => parseTime('--until', 'yesterday')).toThrow(/--until: not an ISO-8601 time/);
  });
});

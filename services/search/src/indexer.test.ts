import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from '@conversa/kafka';
import { planBatch } from './indexer.js';

const view = { id: 'r/1', room: 'r', seq: 1, author: { id: 'u', username: 'u', displayName: 'u', role: 'USER' }, body: 'hi', status: 'VISIBLE', clientMsgId: 'c', createdAt: '2026-01-01T00:00:00.000Z', editedAt: null };
const rec = (value: unknown, type?: string, offset = '0'): IncomingRecord => ({
  topic: 't',
  partition: 0,
  offset,
  key: 'r',
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: type ? { 'event-type': type } : {},
  timestamp: '0',
});
const env = (type: string, data: unknown, at = '2026-01-01T00:00:01.000Z') => ({ id: randomUUID(), type, version: 1, occurredAt: at, key: 'r', actor: 'u', data });

describe('planBatch', () => {
  it('turns message events into changes at their time, skips other types unread', () => {
    const p = planBatch([
      rec(env('message.posted', { message: view }), 'message.posted'),
      rec(env('message.hidden', { message: { ...view, status: 'HIDDEN', body: '' }, action: 'a', reason: 'x', rule: null }, '2026-01-01T00:00:02.000Z'), 'message.hidden'),
      rec('not json at all', 'room.joined'),
      rec(env('room.someFutureType', {}), 'room.someFutureType'),
    ]);
    expect(p.changes).toEqual([
      expect.objectContaining({ id: 'r/1', status: 'VISIBLE', body: 'hi', at: new Date('2026-01-01T00:00:01.000Z') }),
      expect.objectContaining({ id: 'r/1', status: 'HIDDEN', body: '', at: new Date('2026-01-01T00:00:02.000Z') }),
    ]);
    expect(p.skipped).toBe(2);
    expect(p.dead).toEqual([]);
  });

  it('dead-letters a message event it cannot parse, and parses a record without headers', () => {
    const p = planBatch([rec('{"type":"message.posted"}', 'message.posted'), rec(env('message.posted', { message: view })), rec(env('room.joined', { room: 'r', user: 'u' }))]);
    expect(p.dead).toHaveLength(1);
    expect(p.changes).toHaveLength(1);
  });
});

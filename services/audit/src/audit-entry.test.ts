import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from '@conversa/kafka';
import { decodeRecord } from './audit-entry.js';

const rec = (value: string | null): IncomingRecord => ({
  topic: 't',
  partition: 0,
  offset: '0',
  key: 'general',
  value: value === null ? null : Buffer.from(value),
  headers: {},
  timestamp: '0',
});
const now = new Date('2026-01-01T00:00:00Z');
const event = {
  id: '0b7f6f1e-3c1a-4d2b-9a57-3a3b1c2d4e5f',
  type: 'room.joined',
  version: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  key: 'general',
  actor: 'u1',
  data: { room: 'general', user: 'u1' },
};

describe('decodeRecord', () => {
  it('maps a domain event to an audit entry keyed by the event id', () => {
    const d = decodeRecord(rec(JSON.stringify(event)), now);
    expect(d).toEqual({
      ok: true,
      entry: expect.objectContaining({ _id: event.id, type: 'room.joined', room: 'general', actor: 'u1', recordedAt: now }),
    });
  });
  it('says why a record that is not JSON is refused', () => {
    expect(decodeRecord(rec('{nope'), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
  });
  it('names the field of an event that does not match the contract', () => {
    const d = decodeRecord(rec(JSON.stringify({ ...event, id: 'not-a-uuid' })), now);
    expect(d).toMatchObject({ ok: false, reason: expect.stringMatching(/^not a known domain event: id:/) });
  });
  it('refuses an unknown event type and an empty record', () => {
    expect(decodeRecord(rec(JSON.stringify({ ...event, type: 'room.exploded' })), now).ok).toBe(false);
    expect(decodeRecord(rec(null), now)).toEqual({ ok: false, reason: 'empty record value' });
  });
});

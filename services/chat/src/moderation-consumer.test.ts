import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from '@conversa/kafka';
import { decodeAction } from './moderation-consumer.js';

const rec = (value: unknown): IncomingRecord => ({
  topic: 'ns.moderation.actions',
  partition: 0,
  offset: '0',
  key: 'u1',
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
  timestamp: '0',
});
const action = {
  id: '6f1c1d7e-2b7a-4c55-9d7e-0a1b2c3d4e5f',
  kind: 'hide',
  target: 'm1',
  room: 'general',
  reason: 'banned term "bad"',
  rule: 'words',
  by: null,
  at: '2026-01-01T00:00:00.000Z',
  until: null,
};

describe('decodeAction', () => {
  it('parses a moderation action', () => {
    expect(decodeAction(rec(action))).toEqual({ ok: true, value: action });
  });
  it('says why a record is not one', () => {
    expect(decodeAction(rec('nope'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^value is not JSON/) });
    expect(decodeAction(rec({ ...action, kind: 'explode' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not a moderation action: kind:/) });
    expect(decodeAction(rec({ ...action, id: 'x' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/id:/) });
  });
});

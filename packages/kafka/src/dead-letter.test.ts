import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DeadLetterQueue, decodeJsonRecord, splitRecords, toDeadLetter } from './dead-letter.js';
import type { EventProducer, IncomingRecord, OutgoingRecord } from './kafka.js';

const rec = (value: string | null, offset = '5'): IncomingRecord => ({
  topic: 'ns.events',
  partition: 2,
  offset,
  key: 'general',
  value: value === null ? null : Buffer.from(value),
  headers: { 'event-type': 'x' },
  timestamp: '0',
});
const even = (json: unknown) =>
  typeof json === 'number' && json % 2 === 0 ? { ok: true as const, value: json } : { ok: false as const, reason: `odd: ${String(json)}` };

describe('dead letters', () => {
  it('keeps the original key, value and headers and says why, where from and who parked it', () => {
    expect(toDeadLetter(rec('{bad'), 'x'.repeat(2_000), 'ns-audit')).toEqual({
      key: 'general',
      value: '{bad',
      headers: { 'event-type': 'x', 'dlq-reason': 'x'.repeat(1_000), 'dlq-source': 'ns.events/2/5', 'dlq-consumer': 'ns-audit' },
    });
    expect(toDeadLetter({ ...rec(null), key: null }, 'empty', 'g')).toMatchObject({ key: '', value: '' });
  });

  it('decodes JSON then the schema, naming what failed', () => {
    expect(decodeJsonRecord(rec('4'), even)).toEqual({ ok: true, value: 4 });
    expect(decodeJsonRecord(rec('3'), even)).toEqual({ ok: false, reason: 'odd: 3' });
    expect(decodeJsonRecord(rec('{nope'), even)).toMatchObject({ ok: false, reason: expect.stringMatching(/^value is not JSON/) });
    expect(decodeJsonRecord(rec(null), even)).toEqual({ ok: false, reason: 'empty record value' });
    expect(decodeJsonRecord(rec(''), even)).toEqual({ ok: false, reason: 'empty record value' });
  });

  it('splits a batch in order and parks the bad records in one send', async () => {
    const { good, dead } = splitRecords([rec('2', '1'), rec('x', '2'), rec('4', '3'), rec('5', '4')], (r) => decodeJsonRecord(r, even));
    expect(good.map((g) => [g.record.offset, g.value])).toEqual([['1', 2], ['3', 4]]);
    expect(dead.map((d) => [d.record.offset, d.reason.slice(0, 5)])).toEqual([['2', 'value'], ['4', 'odd: ']]);

    const sent: { topic: string; records: OutgoingRecord[] }[] = [];
    const producer: EventProducer = { send: (topic, records) => Promise.resolve(void sent.push({ topic, records })), close: () => Promise.resolve() };
    let counted = 0;
    const q = new DeadLetterQueue({ producer, topic: 'ns.dlq', consumer: 'ns-moderation', logger: pino({ level: 'silent' }), onParked: (n) => (counted += n) });
    await q.park([]);
    expect(sent).toEqual([]);
    await q.park(dead);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topic).toBe('ns.dlq');
    expect(sent[0]!.records.map((r) => r.headers?.['dlq-source'])).toEqual(['ns.events/2/2', 'ns.events/2/4']);
    expect([q.parked, counted]).toEqual([2, 2]);
  });
});

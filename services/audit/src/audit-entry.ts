import { DomainEvent, eventRoom, formatZodError } from '@conversa/contracts';
import type { AuditDoc } from '@conversa/store';
import { decodeJsonRecord, type Decoded as DecodedValue, type IncomingRecord } from '@conversa/kafka';

export type Decoded = { ok: true; entry: AuditDoc } | { ok: false; reason: string };

/** Parses a record of the events topic as a domain event, or says why it cannot (pure). */
export function decodeEvent(record: IncomingRecord): DecodedValue<DomainEvent> {
  return decodeJsonRecord(record, (json) => {
    const parsed = DomainEvent.safeParse(json);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: `not a known domain event: ${formatZodError(parsed.error)}` };
  });
}

/** The audit entry of an event, not yet linked into its chain (pure). */
export function toAuditEntry(e: DomainEvent, now: Date): AuditDoc {
  return {
    _id: e.id,
    type: e.type,
    version: e.version,
    room: eventRoom(e),
    actor: e.actor,
    key: e.key,
    at: new Date(e.occurredAt),
    data: e.data,
    recordedAt: now,
    // One chain per event key (room id, or user id for user events): see audit-log.ts.
    chain: e.key,
  };
}

/** Turns one Kafka record into an audit entry, or says why it cannot (pure: no I/O). */
export function decodeRecord(record: IncomingRecord, now: Date): Decoded {
  const d = decodeEvent(record);
  return d.ok ? { ok: true, entry: toAuditEntry(d.value, now) } : d;
}

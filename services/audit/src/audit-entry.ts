import { DomainEvent, formatZodError } from '@conversa/contracts';
import type { AuditDoc } from '@conversa/store';
import type { IncomingRecord } from '@conversa/kafka';

export type Decoded = { ok: true; entry: AuditDoc } | { ok: false; reason: string };

/** The room an event belongs to, when it belongs to one. */
function roomOf(e: DomainEvent): string | null {
  switch (e.type) {
    case 'user.registered':
    case 'user.renamed':
      return null;
    case 'room.created':
    case 'room.joined':
    case 'room.left':
      return e.data.room;
    case 'message.posted':
    case 'message.edited':
    case 'message.deleted':
      return e.data.message.room;
  }
}

/** Turns one Kafka record into an audit entry, or says why it cannot (pure: no I/O). */
export function decodeRecord(record: IncomingRecord, now: Date): Decoded {
  if (!record.value) return { ok: false, reason: 'empty record value' };
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `value is not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const parsed = DomainEvent.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not a known domain event: ${formatZodError(parsed.error)}` };
  const e = parsed.data;
  return {
    ok: true,
    entry: {
      _id: e.id,
      type: e.type,
      version: e.version,
      room: roomOf(e),
      actor: e.actor,
      key: e.key,
      at: new Date(e.occurredAt),
      data: e.data,
      recordedAt: now,
    },
  };
}

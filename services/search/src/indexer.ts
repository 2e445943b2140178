import { DomainEvent, formatZodError, type MessageView } from '@conversa/contracts';
import { decodeJsonRecord, splitRecords, type Decoded, type IncomingRecord } from '@conversa/kafka';
import type { MessageChange } from '@conversa/search-index';

/** The event types that change what search finds; every other type is skipped unread. */
export const INDEXED_TYPES = new Set(['message.posted', 'message.edited', 'message.deleted', 'message.hidden', 'message.unhidden']);

type MessageEvent = Extract<DomainEvent, { type: 'message.posted' | 'message.edited' | 'message.deleted' | 'message.hidden' | 'message.unhidden' }>;

/** A message as an event shows it, at the event's time (pure). */
export function changeOf(view: MessageView, at: Date): MessageChange {
  return {
    id: view.id,
    room: view.room,
    seq: view.seq,
    authorId: view.author.id,
    createdAt: new Date(view.createdAt),
    status: view.status,
    body: view.body,
    at,
  };
}

function decodeMessageEvent(record: IncomingRecord): Decoded<MessageEvent> {
  return decodeJsonRecord(record, (json) => {
    const parsed = DomainEvent.safeParse(json);
    if (!parsed.success) return { ok: false, reason: `not a known domain event: ${formatZodError(parsed.error)}` };
    const e = parsed.data;
    if (INDEXED_TYPES.has(e.type)) return { ok: true, value: e as MessageEvent };
    return { ok: false, reason: `event-type header says a message event, the value is ${e.type}` };
  });
}

/**
 * What one batch of the events topic asks of the index (pure): the changes of its message
 * events, and the records to dead-letter. Records whose `event-type` header is not a message
 * event are skipped without parsing (room, user and moderation events, and types this version
 * does not know: they are other consumers' business). Every message event carries the message
 * as it was then, so each becomes one change at its `occurredAt`; the index's merge makes
 * redeliveries and reordering harmless.
 */
export function planBatch(records: readonly IncomingRecord[]): { changes: MessageChange[]; dead: { record: IncomingRecord; reason: string }[]; skipped: number; events: MessageEvent[] } {
  // A record without the header (not one the relay writes) is parsed to find out.
  const relevant = records.filter((r) => r.headers['event-type'] === undefined || INDEXED_TYPES.has(r.headers['event-type']));
  const { good, dead: bad } = splitRecords(relevant, decodeMessageEvent);
  const events = good.map((g) => g.value).filter((e) => INDEXED_TYPES.has(e.type));
  const dead = bad.filter((d) => d.record.headers['event-type'] !== undefined || !d.reason.startsWith('event-type header says'));
  return { changes: events.map((e) => changeOf(e.data.message, new Date(e.occurredAt))), dead, skipped: records.length - relevant.length, events };
}

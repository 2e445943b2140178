import { createHash } from 'node:crypto';
import {
  LIMITS,
  badInput,
  roomSlug,
  newEvent,
  type DomainEvent,
  type EventData,
  type EventType,
} from '@conversa/contracts';

/** Pure rules of the chat service: no I/O here. */

/** Trims a message body and enforces 1..4,000 characters. */
export function normalizeBody(body: string): string {
  const trimmed = body.normalize('NFC').trim();
  if (trimmed.length === 0) throw badInput('body: a message cannot be empty', { field: 'body' });
  if (trimmed.length > LIMITS.bodyMax) {
    throw badInput(`body: a message has at most ${LIMITS.bodyMax} characters, got ${trimmed.length}`, {
      field: 'body',
    });
  }
  return trimmed;
}

/** The public room id (slug) of a room name; refuses names whose slug is empty or too long. */
export function publicRoomId(name: string): string {
  const slug = roomSlug(name);
  if (slug.length === 0) {
    throw badInput('name: a room name needs at least one letter or digit (a-z, 0-9)', { field: 'name' });
  }
  if (slug.length > LIMITS.roomSlugMax) {
    throw badInput(`name: a room id has at most ${LIMITS.roomSlugMax} characters, got ${slug.length}`, {
      field: 'name',
    });
  }
  return slug;
}

/** The opaque id of the private room of two users: the same whichever of them asks. */
export function directRoomId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm-${createHash('sha256').update(`${x}\u0000${y}`).digest('base64url').slice(0, 22)}`;
}

export interface EventFactory {
  <T extends EventType>(type: T, key: string, actor: string | null, data: EventData<T>): DomainEvent;
}

/**
 * Builds envelopes with an injected clock and id source, so tests can pin both. `traceparent`
 * gives the trace the event continues (the command's span), carried in the envelope's `trace`.
 */
export function eventFactory(now: () => Date, newId: () => string, traceparent: () => string | undefined = () => undefined): EventFactory {
  return (type, key, actor, data) => {
    const event = newEvent(type, key, actor, data, now(), newId());
    const tp = traceparent();
    return tp ? { ...event, trace: { traceparent: tp } } : event;
  };
}

import type { Logger } from 'pino';
import type { EventProducer, IncomingRecord, OutgoingRecord } from './kafka.js';

/**
 * The dead-letter path every conversa consumer shares: a record it cannot use is parked on the
 * dead-letter topic with the reason, and the consumer goes on, so one bad record never stops a
 * partition. Record format (docs/events.md): the original key and value as text, the original
 * headers plus `dlq-reason`, `dlq-source` (`topic/partition/offset`) and `dlq-consumer`.
 */

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A record that could not be used, and why. */
export interface DeadLetter {
  record: IncomingRecord;
  reason: string;
}

/** `dlq-reason` is cut to this many characters. */
export const DLQ_REASON_MAX = 1_000;

/** The dead-letter record for `record` (pure). */
export function toDeadLetter(record: IncomingRecord, reason: string, consumer: string): OutgoingRecord {
  return {
    key: record.key ?? '',
    value: record.value?.toString('utf8') ?? '',
    headers: {
      ...record.headers,
      'dlq-reason': reason.slice(0, DLQ_REASON_MAX),
      'dlq-source': `${record.topic}/${record.partition}/${record.offset}`,
      'dlq-consumer': consumer,
    },
  };
}

/** Parses a record's value as JSON, then with `parse`; says why when either fails (pure). */
export function decodeJsonRecord<T>(record: IncomingRecord, parse: (json: unknown) => Decoded<T>): Decoded<T> {
  if (!record.value || record.value.length === 0) return { ok: false, reason: 'empty record value' };
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `value is not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  return parse(json);
}

/** Splits a batch into what decoded and what must be dead-lettered, keeping the order of each (pure). */
export function splitRecords<T>(
  records: readonly IncomingRecord[],
  decode: (r: IncomingRecord) => Decoded<T>,
): { good: { record: IncomingRecord; value: T }[]; dead: DeadLetter[] } {
  const good: { record: IncomingRecord; value: T }[] = [];
  const dead: DeadLetter[] = [];
  for (const record of records) {
    const d = decode(record);
    if (d.ok) good.push({ record, value: d.value });
    else dead.push({ record, reason: d.reason });
  }
  return { good, dead };
}

/** Parks records on the dead-letter topic on behalf of one consumer group. */
export class DeadLetterQueue {
  /** Records parked by this instance. */
  parked = 0;

  constructor(
    private readonly opts: {
      producer: EventProducer;
      topic: string;
      /** The consumer group named in `dlq-consumer`. */
      consumer: string;
      logger: Logger;
      /** Called with the count after each park, e.g. to feed a metric. */
      onParked?: (n: number) => void;
    },
  ) {}

  /**
   * Logs and publishes the dead letters; resolves once Kafka acknowledged them, so the caller
   * may commit the batch's offsets afterwards.
   */
  async park(dead: readonly DeadLetter[]): Promise<void> {
    if (dead.length === 0) return;
    for (const d of dead) {
      this.opts.logger.warn(
        { topic: d.record.topic, partition: d.record.partition, offset: d.record.offset, consumer: this.opts.consumer, reason: d.reason },
        'dead-lettering a record',
      );
    }
    await this.opts.producer.send(
      this.opts.topic,
      dead.map((d) => toDeadLetter(d.record, d.reason, this.opts.consumer)),
    );
    this.parked += dead.length;
    this.opts.onParked?.(dead.length);
  }
}

import { eventRecord, type DomainEvent } from '@conversa/contracts';
import type { EventProducer } from '@conversa/kafka';
import { SpanKind, withSpans, type Logger } from '@conversa/observability';
import type { OutboxRepository, PendingOutbox } from '@conversa/store';

export interface OutboxRelayOptions {
  outbox: Pick<OutboxRepository, 'pending' | 'markAllPublished' | 'deleteMarks'>;
  producer: EventProducer;
  topic: string;
  logger: Logger;
  /** Sweep period while a backlog may exist, ms. */
  sweepMs: number;
  /** Sweep period while the fast path is healthy, ms (5 × sweepMs). */
  idleSweepMs?: number;
  /** Documents per batch (500). */
  batchSize?: number;
  /**
   * How long the fast path keeps the marks of published messages before deleting them in one
   * write, ms (500). Each deletion is a transaction on FerretDB (four statements); one per
   * 500 ms instead of one per send. A crash meanwhile leaves marks whose events are on Kafka
   * already: the next sweep publishes them again (at least once; consumers dedupe by id).
   */
  unmarkDelayMs?: number;
}

/** Outbox documents cleared at once after a publish. */
const MARK_CONCURRENCY = 16;

function byOccurrence(a: DomainEvent, b: DomainEvent): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? -1 : 1;
  const sa = a.type === 'message.posted' ? a.data.message.seq : 0;
  const sb = b.type === 'message.posted' ? b.data.message.seq : 0;
  return sa - sb;
}

/**
 * Publishes the events waiting in documents' outboxes to Kafka, keyed by room, and removes
 * them once Kafka acknowledged.
 *
 * Two paths, one at a time so a room's events keep their order:
 * - fast: the store tells it of what a write just stored (Store.onEventsStored); no database scan.
 * - sweep: a periodic scan for pending documents (events stored while Kafka was down, or by a
 *   process that died before publishing). After any failure the relay stays on the sweep until
 *   the backlog is empty, so fresh events never overtake older pending ones.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private fresh: PendingOutbox[] = [];
  private scheduled = false;
  /** True while a backlog may exist: fresh hand-overs are left to the sweep. */
  private backlog = true;
  /** A hand-over arrived while in backlog mode: the sweep must scan once more before leaving it. */
  private missed = false;
  private failing = false;
  private stopped = false;
  private readonly inFlight = new Set<string>();
  /** Marks whose events are on Kafka, not deleted yet (see unmarkDelayMs). */
  private readonly unmark = new Set<string>();
  private unmarkTimer: NodeJS.Timeout | undefined;
  published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {}

  start(): void {
    this.run(() => this.sweep());
    this.schedule();
  }

  /**
   * The sweep scans every outboxed collection (a full scan on FerretDB), so it runs every
   * `sweepMs` only while a backlog may exist, and `idleSweepMs` apart while the fast path
   * carries everything (it then only finds what a crashed process left behind).
   */
  private schedule(): void {
    if (this.stopped) return;
    const every = this.backlog ? this.opts.sweepMs : (this.opts.idleSweepMs ?? this.opts.sweepMs * 5);
    this.timer = setTimeout(() => {
      this.run(() => this.sweep());
      this.schedule();
    }, every);
  }

  /**
   * Events just stored in a document (the fast path): the store tells this of every write that
   * stored events (`Store.onEventsStored`, wired in chat.ts).
   */
  stored(p: PendingOutbox): void {
    if (this.stopped) return;
    if (this.backlog) {
      this.missed = true;
      return;
    }
    this.fresh.push(p);
    this.inFlight.add(`${p.collection}/${p.docId}`);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run(() => this.flushFresh());
    });
  }

  /** Events not yet published by this process's relay (fast path queue). */
  get queued(): number {
    return this.fresh.length;
  }

  private run(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((e: unknown) => {
      if (!this.failing) this.opts.logger.warn({ err: e }, 'outbox relay: publish failed; the sweep will retry');
      this.failing = true;
      this.backlog = true;
      for (const f of this.fresh) this.inFlight.delete(`${f.collection}/${f.docId}`);
      this.fresh = [];
    });
  }

  private async flushFresh(): Promise<void> {
    while (this.fresh.length > 0 && !this.backlog) {
      const batch = this.fresh.splice(0, this.opts.batchSize ?? 500);
      try {
        await this.publish(batch);
        this.scheduleUnmark();
      } finally {
        for (const f of batch) this.inFlight.delete(`${f.collection}/${f.docId}`);
      }
    }
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    for (;;) {
      // An event handed over during this scan may have been stored after the scan read its
      // collection: scan again rather than let the next fresh event overtake it.
      this.missed = false;
      // Marks of events already published go first: the scan must not see them as pending.
      await this.flushUnmarks();
      const pending = (await this.opts.outbox.pending(this.opts.batchSize ?? 500)).filter(
        (p) => !this.inFlight.has(`${p.collection}/${p.docId}`),
      );
      if (pending.length > 0) await this.publish(pending);
      else if (!this.missed) break;
    }
    if (this.failing) this.opts.logger.info('outbox relay: backlog published; Kafka is reachable');
    this.failing = false;
    this.backlog = false;
  }

  private async publish(docs: PendingOutbox[]): Promise<void> {
    const events = docs.flatMap((p) => p.events).sort(byOccurrence);
    const topic = this.opts.topic;
    // Each event continues the trace of the command that stored it (its envelope's `trace`);
    // the `traceparent` header hands the publish span on to the consumers.
    await withSpans(
      `kafka publish ${topic}`,
      SpanKind.PRODUCER,
      events.map((e) => e.trace?.traceparent),
      { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.batch.message_count': events.length },
      (traceparents) =>
        this.opts.producer.send(
          topic,
          events.map((e, i) => eventRecord(e, traceparents[i])),
        ),
    );
    // Published: the marks are deleted soon, together (flushUnmarks); the outboxes are cleared
    // now (a few documents at a time).
    for (const d of docs) if (d.marked) this.unmark.add(d.docId);
    await this.opts.outbox.markAllPublished(
      docs.filter((d) => !d.marked),
      MARK_CONCURRENCY,
    );
    this.published += events.length;
  }

  /** Deletes the marks of published events soon, in one write (see unmarkDelayMs). */
  private scheduleUnmark(): void {
    if (this.unmark.size >= (this.opts.batchSize ?? 500)) {
      this.run(() => this.flushUnmarks());
      return;
    }
    // After stop() the flush it queued deletes them.
    if (this.stopped || this.unmarkTimer || this.unmark.size === 0) return;
    this.unmarkTimer = setTimeout(() => {
      this.unmarkTimer = undefined;
      this.run(() => this.flushUnmarks());
    }, this.opts.unmarkDelayMs ?? 500);
  }

  private async flushUnmarks(): Promise<void> {
    if (this.unmark.size === 0) return;
    const ids = [...this.unmark];
    await this.opts.outbox.deleteMarks(ids);
    for (const id of ids) this.unmark.delete(id);
  }

  /**
   * Stops sweeping and publishes what was handed over, waiting at most `graceMs` (5 s): with
   * Kafka down, what is left stays pending in the database for the next start.
   */
  async stop(graceMs = 5_000): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.unmarkTimer);
    this.run(() => this.flushFresh());
    this.run(() => this.flushUnmarks());
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}

import type { DomainEvent } from '@conversa/contracts';
import type { EventProducer } from '@conversa/kafka';
import type { Logger } from '@conversa/observability';
import type { PendingOutbox, Store } from '@conversa/store';

export interface OutboxRelayOptions {
  store: Store;
  producer: EventProducer;
  topic: string;
  logger: Logger;
  /** Sweep period, ms. */
  sweepMs: number;
  /** Documents per batch (200). */
  batchSize?: number;
}

function orderKey(e: DomainEvent): [string, number] {
  return [e.occurredAt, e.type === 'message.posted' ? e.data.message.seq : 0];
}

/**
 * Publishes the events waiting in documents' outboxes to Kafka, keyed by room, and removes
 * them once Kafka acknowledged. Runs when nudged after a write and on a periodic sweep, so an
 * event stored while Kafka was down goes out once it is back, also after a restart.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private stopped = false;
  published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {}

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.opts.sweepMs);
    this.nudge();
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.drainOnce()) > 0) {
          /* keep draining while batches come back full */
        }
        if (this.failing) this.opts.logger.info('outbox relay: Kafka reachable again');
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.opts.logger.warn({ err: e }, 'outbox relay: publish failed; will retry');
        this.failing = true;
        return;
      }
    } while (this.again && !this.stopped);
  }

  /** One batch: returns how many documents it handled. */
  private async drainOnce(): Promise<number> {
    const pending: PendingOutbox[] = await this.opts.store.pendingOutbox(this.opts.batchSize ?? 200);
    if (pending.length === 0) return 0;
    const events = pending.flatMap((p) => p.events);
    events.sort((a, b) => {
      const [ta, sa] = orderKey(a);
      const [tb, sb] = orderKey(b);
      return ta < tb ? -1 : ta > tb ? 1 : sa - sb;
    });
    await this.opts.producer.send(
      this.opts.topic,
      events.map((e) => ({
        key: e.key,
        value: JSON.stringify(e),
        headers: { 'event-type': e.type, 'event-id': e.id, 'event-version': String(e.version) },
      })),
    );
    for (const p of pending) {
      await this.opts.store.markPublished(p.collection, p.docId, p.events.map((e) => e.id));
    }
    this.published += events.length;
    return pending.length;
  }

  /** Stops sweeping and waits for the batch in flight; what is left stays pending for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}

import { eventRecord, names } from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { reconcile, type ReconcileReport } from '@conversa/audit';
import { KafkaAdapter } from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { openStore } from '@conversa/store';

export interface ReconcileOutcome extends ReconcileReport {
  /** Republished events that the audit consumer appended within the wait. */
  appended: number;
}

/**
 * `conversa audit reconcile`: one reconciliation run (what the audit service also does every
 * AUDIT_RECONCILE_INTERVAL_MS), then waits up to `waitMs` for the audit consumer to append
 * what it handed back. Needs MongoDB and Kafka; the audit service must be running to append.
 */
export async function reconcileNow(config: Config, opts: { settleMs: number; waitMs: number }): Promise<ReconcileOutcome> {
  const n = names(config.CONVERSA_NAMESPACE);
  const store = await openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  const kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: 'conversa-cli', logger: createLogger('cli', 'error') });
  try {
    const producer = await kafka.producer();
    const repo = store.reconcile;
    try {
      const report = await reconcile({
        repo,
        lastSeq: (room, hint) => store.messages.lastSeq(room, hint),
        republish: (events) => producer.send(n.eventsTopic, events.map((e) => eventRecord(e))),
        settleMs: opts.settleMs,
      });
      const ids = report.republished.map((e) => e.id);
      const deadline = Date.now() + opts.waitMs;
      let appended = ids.length === 0 ? 0 : (await repo.audited(ids)).size;
      while (appended < ids.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250)); // polling the log: no event tells the CLI
        appended = (await repo.audited(ids)).size;
      }
      return { ...report, appended };
    } finally {
      await producer.close();
    }
  } finally {
    await kafka.close();
    await store.close();
  }
}

/** The outcome as people read it. */
export function formatReconcile(r: ReconcileOutcome): string {
  const base = `audit reconcile: ${r.checked} stored messages checked in ${r.rooms} rooms`;
  const old = r.withoutEvent > 0 ? `; ${r.withoutEvent} older messages carry no event and cannot be checked` : '';
  if (r.republished.length === 0) return `${base}: the audit log holds every one${old}`;
  return `${base}: ${r.republished.length} missing from the audit log, handed back to the events topic; ${r.appended} of them appended${old}`;
}

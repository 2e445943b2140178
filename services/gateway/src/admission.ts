/**
 * Admission control of the command path: refuse, before enqueueing, what the chat workers
 * cannot finish within the deadline, so that a refused command is certainly not executed and
 * an admitted one is very likely done in time (goodput stays flat past saturation instead of
 * every request waiting out its deadline while the queue grows).
 *
 * The queue can take what the workers will start within `budgetMs`: the measured service rate
 * (commands finished per second by all chat workers, read from Redis) times the budget, and at
 * least `minBacklog` (a cold or idle system has no measured rate yet). `bulk` commands get a
 * fraction of it, so interactive ones (send, edit, join) keep headroom. A refusal says when to
 * come back: the time the workers need to bring the backlog under the capacity.
 */
export interface QueueSnapshot {
  /** Jobs enqueued and not started (waiting + prioritized), summed over all gateways' jobs. */
  backlog: number;
  /** Commands finished per second by all chat workers, over the last few seconds. */
  ratePerSecond: number;
}

export interface AdmissionOptions {
  /** How long an admitted command may wait in the queue, ms (half the command deadline). */
  budgetMs: number;
  /** What the queue takes whatever the measured rate, jobs (200). */
  minBacklog: number;
  /** The share of the capacity bulk commands may fill (0.5). */
  bulkShare?: number;
}

export type Admission = { admit: true } | { admit: false; retryAfterSeconds: number };

export function decide(q: QueueSnapshot, cls: 'interactive' | 'bulk', o: AdmissionOptions): Admission {
  const capacity = Math.max(o.minBacklog, q.ratePerSecond * (o.budgetMs / 1_000)) * (cls === 'bulk' ? (o.bulkShare ?? 0.5) : 1);
  if (q.backlog < capacity) return { admit: true };
  // Time for the workers to bring the backlog under the capacity; with no measured rate, a second.
  const seconds = q.ratePerSecond > 0 ? (q.backlog - capacity + 1) / q.ratePerSecond : 1;
  return { admit: false, retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(seconds))) };
}

/** Commands finished per second, from per-second counts (newest last; the current, partial second excluded). */
export function serviceRate(perSecond: readonly number[]): number {
  if (perSecond.length === 0) return 0;
  return perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
}

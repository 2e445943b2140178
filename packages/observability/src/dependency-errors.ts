import type { Metrics } from './metrics.js';

/** The outside systems whose errors every service counts. */
export type Dependency = 'redis' | 'kafka' | 'mongo' | 'postgres';

/**
 * Called by adapters on their error paths (a dropped connection, a failed command, a failed
 * send). `op` is a small fixed vocabulary per adapter (`connection`, `command`, `produce`, …),
 * never free text, so the series stay few.
 */
export type DependencyErrorHook = (dependency: Dependency, op: string) => void;

/**
 * `conversa_dependency_errors_total{dependency, op}` and the hook adapters call. The series of
 * `known` (dependency, op) pairs exist from the start at 0, so rate() over them is defined
 * before the first error.
 */
export function dependencyErrorCounter(
  metrics: Metrics,
  known: readonly [Dependency, string][] = [],
): DependencyErrorHook {
  const errors = metrics.counter(
    'dependency_errors_total',
    'Errors talking to Redis, Kafka, MongoDB or PostgreSQL, by dependency and operation.',
    ['dependency', 'op'],
  );
  for (const [dependency, op] of known) errors.inc({ dependency, op }, 0);
  return (dependency, op) => errors.inc({ dependency, op });
}

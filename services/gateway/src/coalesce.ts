/**
 * Concurrent identical reads share one trip to the database: while a read for a key is in
 * flight, the same read returns the same promise; once it settles, the next read goes to the
 * database again (nothing is cached, so nothing can be stale). A reconnect storm of a room's
 * subscribers asks for the same replay, the same room and the same user many times at once.
 */
export function coalesced<A extends unknown[], R>(read: (...args: A) => Promise<R>, key: (...args: A) => string): ((...args: A) => Promise<R>) & { readonly shared: number } {
  const inFlight = new Map<string, Promise<R>>();
  let shared = 0;
  const run = (...args: A): Promise<R> => {
    const k = key(...args);
    const pending = inFlight.get(k);
    if (pending) {
      shared++;
      return pending;
    }
    const p = read(...args).finally(() => inFlight.delete(k));
    inFlight.set(k, p);
    return p;
  };
  return Object.defineProperty(run, 'shared', { get: () => shared }) as ((...args: A) => Promise<R>) & { readonly shared: number };
}

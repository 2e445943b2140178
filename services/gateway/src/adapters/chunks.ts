/**
 * Entries per Redis pipeline when a gateway writes all its entries at once (presence and socket
 * slots, restored after its liveness key lapsed). One pipeline for every socket of a gateway
 * (tens of thousands) keeps all its command objects alive until the last reply: they outlive
 * V8's young generation and are promoted. Pipelines of this size, one after another, die young.
 */
export const REFRESH_CHUNK = 500;

/** Runs `each` over consecutive slices of `items`, one slice at a time. */
export async function inChunks<T>(items: readonly T[], each: (slice: readonly T[]) => Promise<unknown>, size = REFRESH_CHUNK): Promise<void> {
  for (let i = 0; i < items.length; i += size) await each(items.slice(i, i + size));
}

import type { Redis } from 'ioredis';
import type { StoreChange } from '@conversa/store';
import type { Logger } from '@conversa/observability';
import { parseStoreChange, type ReadCache } from '../read-cache.js';

/** Tells the other chat processes that a write changed `change` (fire and forget). */
export function noticeChange(redis: Redis, channel: string, change: StoreChange, logger: Logger): void {
  redis.publish(channel, JSON.stringify(change)).catch((e: unknown) => {
    // The others then trust their entries for at most CHAT_READ_CACHE_TTL_MS.
    logger.warn({ err: e, change }, 'cache change notice not sent');
  });
}

/**
 * Evicts what other processes report changed. `subscriber` is a connection of its own (it
 * enters subscriber mode). Notices sent while it was disconnected are lost, so every
 * (re)connection drops the whole cache.
 */
export async function listenForChanges(subscriber: Redis, channel: string, cache: ReadCache, logger: Logger): Promise<void> {
  subscriber.on('message', (from: string, raw: string) => {
    if (from !== channel) return;
    const change = parseStoreChange(raw);
    if (change) cache.evict(change);
    else logger.warn({ raw: raw.slice(0, 200) }, 'cache change notice not understood; ignored');
  });
  subscriber.on('ready', () => cache.clear());
  await subscriber.subscribe(channel);
}

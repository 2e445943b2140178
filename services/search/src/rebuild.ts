import type { Logger } from '@conversa/observability';
import type { MessageChange, SearchIndex } from '@conversa/search-index';
import type { MessageDoc } from '@conversa/store';

export interface RebuildSource {
  roomIds(): Promise<string[]>;
  page(room: string, q: { after: number; limit: number }): Promise<{ messages: MessageDoc[]; hasMore: boolean }>;
}

/** The meta key set once a rebuild from the store finished (its value: when it started). */
export const REBUILT_KEY = 'rebuilt_from_store';

/**
 * Indexes every stored message, room by room in seq order (point look-ups by seq, pages of
 * 500). Each message enters as the store shows it at the moment it is read, so the events that
 * happen after that read still win (their times are later) and the older ones that Kafka
 * delivers meanwhile change nothing. Hidden bodies are taken (the store keeps them for admins).
 */
export async function rebuildFromStore(source: RebuildSource, index: SearchIndex, logger: Logger, isStopping: () => boolean = () => false): Promise<{ rooms: number; messages: number } | null> {
  const started = new Date();
  const rooms = await source.roomIds();
  let messages = 0;
  for (const room of rooms) {
    let after = 0;
    for (;;) {
      if (isStopping()) return null;
      const at = new Date();
      const page = await source.page(room, { after, limit: 500 });
      const changes: MessageChange[] = page.messages.map((m) => ({
        id: m._id,
        room: m.room,
        seq: m.seq,
        authorId: m.authorId,
        createdAt: m.createdAt,
        status: m.status,
        body: m.body,
        bodyKnown: true,
        at,
      }));
      await index.index(changes);
      messages += changes.length;
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) break;
      after = last.seq;
    }
  }
  await index.setMeta(REBUILT_KEY, started.toISOString());
  logger.info({ rooms: rooms.length, messages }, 'search index rebuilt from the store');
  return { rooms: rooms.length, messages };
}

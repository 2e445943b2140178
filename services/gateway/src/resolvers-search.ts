import { z } from 'zod';
import { AppError, ErrorCode, badInput, type MessageView } from '@conversa/contracts';
import { SearchCursorError, parseQuery, snippet, type SearchableStatus } from '@conversa/search-index';
import type { MessageDoc } from '@conversa/store';
import { requireUser, withAuthors, type GatewayContext } from './context.js';
import { id, parseArgs, text } from './validation.js';

/** Query.search's arguments: query 1..200 characters, limit 1..50, the cursor opaque. */
export const SearchArgs = z.object({
  query: text('query', 1, 200)
    .transform((s) => s.trim())
    .pipe(z.string().min(1, 'query cannot be blank')),
  room: id.nullish(),
  after: z.string().min(1).max(512).nullish(),
  limit: z.number().int().min(1, 'limit must be 1..50').max(50, 'limit must be 1..50').default(20),
});

export interface SearchHit {
  message: MessageView;
  snippet: string;
}

/**
 * Query.search. The caller's rooms are read from the store at query time (active memberships:
 * public and group rooms; direct rooms by `pair`), so a member who left or was removed stops
 * finding the room's messages at once, whatever the index holds. The index filters by those
 * rooms and by status (VISIBLE; admins HIDDEN too); each hit is then read back from the store by
 * id and checked again (room, status), so a message hidden or deleted after the index last heard
 * of it never shows, and its body and author are current, as `messages` returns them. The
 * snippet is cut from that current body.
 */
export const searchQueries = {
  search: async (_: unknown, args: Record<string, unknown>, ctx: GatewayContext): Promise<{ hits: SearchHit[]; nextCursor: string | null }> => {
    const p = requireUser(ctx);
    const a = parseArgs(SearchArgs, args);
    const index = ctx.services.search;
    if (!index) throw new AppError(ErrorCode.UNAVAILABLE, 'search is not configured on this gateway');
    const store = ctx.services.store;
    const [memberOf, direct] = await Promise.all([store.rooms.roomIdsOf(p.id), store.rooms.listDirect(p.id)]);
    const mine = new Set([...memberOf, ...direct.map((r) => r._id)]);
    const rooms = a.room != null ? (mine.has(a.room) ? [a.room] : []) : [...mine];
    const statuses: SearchableStatus[] = p.role === 'ADMIN' ? ['VISIBLE', 'HIDDEN'] : ['VISIBLE'];
    const query = parseQuery(a.query);
    let page;
    try {
      page = await index.search({ query, rooms, statuses, after: a.after ?? null, limit: a.limit });
    } catch (e) {
      if (e instanceof SearchCursorError) throw badInput('after: not a cursor this API returned');
      if ((e as { code?: string }).code === '42P01') throw new AppError(ErrorCode.UNAVAILABLE, 'the search index is not ready yet', { cause: e });
      throw e;
    }
    const docs = await Promise.all(page.hits.map((h) => store.messages.findById(h.id)));
    const allowed = new Set<string>(statuses);
    const shown = docs.filter((d): d is MessageDoc => d !== null && mine.has(d.room) && rooms.includes(d.room) && allowed.has(d.status));
    const views = await withAuthors(store, shown);
    return {
      hits: views.map((message, i) => ({ message, snippet: snippet(shown[i]!.body, query) })),
      nextCursor: page.nextCursor,
    };
  },
};

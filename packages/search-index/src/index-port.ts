import type { SearchCursor } from './cursor.js';
import type { ParsedQuery } from './query.js';
import type { MessageChange, MessageState } from './state.js';

/** Statuses a search may return: VISIBLE for everyone, HIDDEN too for admins. Never DELETED. */
export type SearchableStatus = 'VISIBLE' | 'HIDDEN';

export interface SearchRequest {
  /** The caller's text (parsed here) or a query parsed already. */
  query: string | ParsedQuery;
  /** Only these rooms (the caller's, resolved at query time). */
  rooms: readonly string[];
  statuses: readonly SearchableStatus[];
  /** A cursor of the previous page. */
  after?: string | SearchCursor | null;
  limit: number;
}

export interface SearchHitRef {
  id: string;
  room: string;
  rank: number;
  createdAt: Date;
}

export interface SearchPage {
  /** Best match first, then newest, then id. */
  hits: SearchHitRef[];
  nextCursor: string | null;
}

/**
 * The one port to the search engine: the indexer writes through it, the gateway reads through
 * it. PostgreSQL full-text search implements it today (postgres.ts); another engine would be
 * another class with these methods.
 */
export interface SearchIndex {
  /** Creates what the index needs (idempotent, safe when raced); `created`: it was not there. */
  migrate(): Promise<{ created: boolean }>;
  /** Indexes or updates messages; idempotent and order-independent (state.ts). */
  index(changes: readonly MessageChange[]): Promise<void>;
  /** Marks messages deleted, for good. */
  remove(messages: readonly Omit<MessageChange, 'status' | 'body' | 'bodyKnown'>[]): Promise<void>;
  search(req: SearchRequest): Promise<SearchPage>;
  get(id: string): Promise<MessageState | null>;
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

import pg from 'pg';
import { decodeCursor, encodeCursor, type SearchCursor } from './cursor.js';
import { parseQuery, toTsqueryText, type ParsedQuery } from './query.js';
import { fold, type MessageChange, type MessageState } from './state.js';
import { toTsvectorText } from './text.js';
import type { SearchIndex, SearchPage, SearchRequest } from './index-port.js';

export interface PostgresSearchOptions {
  /** postgres://user@host:port/database */
  url: string;
  /** The schema of this namespace's index (created by `migrate`). */
  schema: string;
  /** Connections in the pool (10). */
  poolSize?: number;
  /** Called with each error of an idle pooled connection (the pool replaces it). */
  onError?: (e: Error) => void;
}

const SCHEMA_VERSION = 1;
/** Rows per statement of a bulk upsert (each row is 10 parameters in arrays: no parameter limit). */
const UPSERT_CHUNK = 2_000;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The search index on PostgreSQL full-text search: one table per namespace (its own schema),
 * a tsvector per message built from the analysis in text.ts, a GIN index on it, a btree on room.
 * Queries match `doc @@ tsquery` within the caller's rooms and visible statuses, rank with
 * ts_rank normalized by length (1 + log of the number of words), plus the same for the query
 * without prefixes (whole words first), rounded so the keyset cursor compares exactly; then
 * newest, then id.
 */
export class PostgresSearchIndex implements SearchIndex {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly meta: string;

  constructor(private readonly opts: PostgresSearchOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    this.pool.on('error', (e) => opts.onError?.(e));
    this.table = `${ident(opts.schema)}.messages`;
    this.meta = `${ident(opts.schema)}.meta`;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /**
   * Creates the database (if the role may and it is missing), the schema, the table and its
   * indexes; safe when several processes run it at once (an advisory lock). `created`: the
   * table did not exist before.
   */
  async migrate(): Promise<{ created: boolean }> {
    await ensureDatabase(this.opts.url);
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`conversa-search:${this.opts.schema}`]);
      const exists = await c.query('SELECT to_regclass($1) AS t', [`${ident(this.opts.schema)}.messages`]);
      const created = (exists.rows[0] as { t: string | null }).t === null;
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(this.opts.schema)}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.meta} (key text PRIMARY KEY, value text NOT NULL)`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.table} (
          id text PRIMARY KEY,
          room text NOT NULL,
          seq integer NOT NULL,
          author_id text NOT NULL,
          created_at timestamptz NOT NULL,
          status text NOT NULL,
          status_at timestamptz NOT NULL,
          body text,
          body_at timestamptz,
          doc tsvector NOT NULL
        )`);
      await c.query(`CREATE INDEX IF NOT EXISTS messages_doc ON ${this.table} USING gin (doc)`);
      await c.query(`CREATE INDEX IF NOT EXISTS messages_room ON ${this.table} (room, created_at)`);
      await c.query(`INSERT INTO ${this.meta} VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(SCHEMA_VERSION)]);
      await c.query('COMMIT');
      return { created };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  /** Drops this namespace's index (tests, a rebuild from scratch). */
  async drop(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${ident(this.opts.schema)} CASCADE`);
  }

  async getMeta(key: string): Promise<string | null> {
    const r = await this.pool.query(`SELECT value FROM ${this.meta} WHERE key = $1`, [key]);
    return (r.rows[0] as { value: string } | undefined)?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.meta} VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  /** Indexes or updates messages (posted, edited, hidden, unhidden, or read from the store). */
  index(changes: readonly MessageChange[]): Promise<void> {
    return this.upsert(fold(changes));
  }

  /** Marks messages deleted: they never match again, whatever older event comes after. */
  remove(messages: readonly Omit<MessageChange, 'status' | 'body' | 'bodyKnown'>[]): Promise<void> {
    return this.index(messages.map((m) => ({ ...m, status: 'DELETED' as const, body: '' })));
  }

  /**
   * One row per message (fold), upserted with the rule of state.ts's merge: DELETED is final;
   * otherwise the newer status and the newer shown body win (ties: the greater value, so the
   * order of arrival never matters).
   */
  private async upsert(states: MessageState[]): Promise<void> {
    for (let i = 0; i < states.length; i += UPSERT_CHUNK) {
      const rows = states.slice(i, i + UPSERT_CHUNK);
      await this.pool.query(
        `INSERT INTO ${this.table} AS t (id, room, seq, author_id, created_at, status, status_at, body, body_at, doc)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[], $8::text[], $9::timestamptz[], $10::tsvector[])
         ON CONFLICT (id) DO UPDATE SET
           status = CASE WHEN t.status = 'DELETED' THEN t.status
                         WHEN excluded.status = 'DELETED' THEN excluded.status
                         WHEN excluded.status_at > t.status_at OR (excluded.status_at = t.status_at AND excluded.status COLLATE "C" > t.status COLLATE "C") THEN excluded.status
                         ELSE t.status END,
           status_at = CASE WHEN t.status = 'DELETED' THEN t.status_at
                            WHEN excluded.status = 'DELETED' THEN excluded.status_at
                            ELSE greatest(t.status_at, excluded.status_at) END,
           body = CASE WHEN t.status = 'DELETED' THEN t.body
                       WHEN excluded.status = 'DELETED' THEN ''
                       WHEN ${TAKE_BODY} THEN excluded.body
                       ELSE t.body END,
           body_at = CASE WHEN t.status = 'DELETED' THEN t.body_at
                          WHEN excluded.status = 'DELETED' THEN excluded.status_at
                          WHEN ${TAKE_BODY} THEN excluded.body_at
                          ELSE t.body_at END,
           doc = CASE WHEN t.status = 'DELETED' THEN t.doc
                      WHEN excluded.status = 'DELETED' THEN ''::tsvector
                      WHEN ${TAKE_BODY} THEN excluded.doc
                      ELSE t.doc END`,
        [
          rows.map((s) => s.id),
          rows.map((s) => s.room),
          rows.map((s) => s.seq),
          rows.map((s) => s.authorId),
          rows.map((s) => s.createdAt),
          rows.map((s) => s.status),
          rows.map((s) => s.statusAt),
          rows.map((s) => s.body),
          rows.map((s) => s.bodyAt),
          rows.map((s) => (s.body && s.status !== 'DELETED' ? toTsvectorText(s.body) : '')),
        ],
      );
    }
  }

  async search(req: SearchRequest): Promise<SearchPage> {
    const parsed: ParsedQuery = typeof req.query === 'string' ? parseQuery(req.query) : req.query;
    const tsquery = toTsqueryText(parsed);
    if (tsquery === null || req.rooms.length === 0 || req.statuses.length === 0) return { hits: [], nextCursor: null };
    const after: SearchCursor | null = req.after ? (typeof req.after === 'string' ? decodeCursor(req.after) : req.after) : null;
    const r = await this.pool.query(
      `SELECT id, room, created_at, rank::text AS rank_text FROM (
         SELECT id, room, created_at, round((ts_rank(doc, q, 1) + ts_rank(doc, $8::tsquery, 1))::numeric, 6) AS rank
         FROM ${this.table}, (SELECT $1::tsquery AS q) AS query
         WHERE doc @@ q AND room = ANY($2::text[]) AND status = ANY($3::text[])
       ) AS m
       WHERE $4::numeric IS NULL OR (rank, created_at, id) < ($4::numeric, $5::timestamptz, $6::text)
       ORDER BY rank DESC, created_at DESC, id DESC
       LIMIT $7`,
      [tsquery, [...new Set(req.rooms)], req.statuses, after?.rank ?? null, after?.createdAt ?? null, after?.id ?? null, req.limit + 1, toTsqueryText(parsed, { exact: true })],
    );
    const rows = (r.rows as { id: string; room: string; created_at: Date; rank_text: string }[]).map((x) => ({ ...x, rank: x.rank_text }));
    const page = rows.slice(0, req.limit);
    const last = page.at(-1);
    return {
      hits: page.map((row) => ({ id: row.id, room: row.room, rank: Number(row.rank), createdAt: row.created_at })),
      nextCursor: rows.length > req.limit && last ? encodeCursor({ rank: last.rank, createdAt: last.created_at, id: last.id }) : null,
    };
  }

  /** Rows in the index (tests, the bench). */
  async count(): Promise<number> {
    const r = await this.pool.query(`SELECT count(*)::int AS n FROM ${this.table}`);
    return (r.rows[0] as { n: number }).n;
  }

  /** Which of these messages a search can find now (VISIBLE, with words): the bench's lag probe. */
  async findable(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const r = await this.pool.query(`SELECT id FROM ${this.table} WHERE id = ANY($1::text[]) AND status = 'VISIBLE' AND doc <> ''::tsvector`, [ids]);
    return new Set((r.rows as { id: string }[]).map((x) => x.id));
  }

  /** What the index holds of one message (tests, diagnosis). */
  async get(id: string): Promise<MessageState | null> {
    const r = await this.pool.query(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    const row = r.rows[0] as
      | { id: string; room: string; seq: number; author_id: string; created_at: Date; status: MessageState['status']; status_at: Date; body: string | null; body_at: Date | null }
      | undefined;
    return row
      ? { id: row.id, room: row.room, seq: row.seq, authorId: row.author_id, createdAt: row.created_at, status: row.status, statusAt: row.status_at, body: row.body, bodyAt: row.body_at }
      : null;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The incoming row's body replaces the stored one: it has one, and it is newer (ties: the greater). */
const TAKE_BODY = `excluded.body IS NOT NULL AND (t.body_at IS NULL OR excluded.body_at > t.body_at
  OR (excluded.body_at = t.body_at AND excluded.body COLLATE "C" > t.body COLLATE "C"))`;

/**
 * Creates the URL's database when it does not exist (the local superuser may; elsewhere create
 * it beforehand). Safe when raced.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  u.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: u.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${ident(name)}`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw e; // created meanwhile by someone else
  } finally {
    await admin.end();
  }
}

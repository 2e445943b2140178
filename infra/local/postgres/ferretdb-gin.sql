-- GIN twins of FerretDB's indexes, so that PostgreSQL can serve what FerretDB asks of it.
--
-- FerretDB 1.24's postgresql handler turns `createIndexes` into btree indexes on
-- `(_jsonb -> 'field')`, but pushes a top-level equality down as `_jsonb -> 'field' @> value`,
-- which a btree cannot serve: every point look-up, update and delete scans the table
-- (EXPLAIN: Seq Scan; https://github.com/FerretDB/FerretDB/issues/4646). A GIN index on the
-- same expressions can. This event trigger gives every btree index FerretDB creates (the `_id`
-- index of each new collection included) a GIN twin with the same columns, in the same
-- transaction: every database, every collection, every index the store declares, with no code
-- in the application. A multicolumn GIN serves a condition on any subset of its columns, so
-- one twin per index suffices. The btrees stay: the unique ones enforce uniqueness.
--
-- Installed (idempotently) by infra/local/infra.sh into FerretDB's database before every
-- FerretDB start; the last statement also adds twins missing on existing tables. To use it
-- with FerretDB on another PostgreSQL, run this file there as a superuser (event triggers
-- need one): psql -d <ferretdb database> -f ferretdb-gin.sql

-- The twin's name: FerretDB's index name with `_idx` replaced by `_gin` (FerretDB's names
-- carry a hash, so this stays unique), or a truncated name with `_gin` appended.
CREATE OR REPLACE FUNCTION conversa_gin_twin_name(btree_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN btree_name LIKE '%\_idx' THEN left(btree_name, length(btree_name) - 4) || '_gin'
    ELSE left(btree_name, 59) || '_gin'
  END
$$;

-- Creates the GIN twin of one index if it is a btree of FerretDB's shape (each column
-- `_jsonb -> 'field'`) on a collection table; does nothing for any other index.
CREATE OR REPLACE FUNCTION conversa_gin_twin(idx regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  ix pg_index;
  am text;
  tbl_name text;
  idx_name text;
  nsp text;
  col text;
  cols text[] := '{}';
  n int;
BEGIN
  SELECT * INTO ix FROM pg_index WHERE indexrelid = idx;
  IF NOT FOUND THEN RETURN; END IF;
  SELECT a.amname, ic.relname, tc.relname, ns.nspname INTO am, idx_name, tbl_name, nsp
    FROM pg_class ic
    JOIN pg_am a ON a.oid = ic.relam
    JOIN pg_class tc ON tc.oid = ix.indrelid
    JOIN pg_namespace ns ON ns.oid = tc.relnamespace
   WHERE ic.oid = idx;
  -- FerretDB's own metadata table: read once, then cached by FerretDB.
  IF am <> 'btree' OR tbl_name LIKE '\_ferretdb\_%' THEN RETURN; END IF;
  FOR n IN 1..ix.indnatts LOOP
    col := pg_get_indexdef(idx, n, false); -- e.g. ((_jsonb -> 'room'::text))
    IF col !~ '^\(\(_jsonb -> ''([^'']|'''')+''::text\)\)$' THEN RETURN; END IF;
    -- jsonb_path_ops: smaller and faster than jsonb_ops, and it serves @>, all FerretDB uses.
    cols := cols || (col || ' jsonb_path_ops');
  END LOOP;
  -- fastupdate off: an insert updates the index at once instead of queueing in a pending list
  -- that every look-up must scan until (auto)vacuum flushes it (up to gin_pending_list_limit,
  -- 4 MB): look-up cost stays flat under a stream of inserts. Measured here at 20,000
  -- messages: inserts no slower, point look-ups 1,600-1,900/s instead of 470-1,300/s.
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s) WITH (fastupdate = off)',
                 conversa_gin_twin_name(idx_name), nsp, tbl_name, array_to_string(cols, ', '));
END
$$;

CREATE OR REPLACE FUNCTION conversa_gin_on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
            WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    -- Never fail FerretDB's createIndexes for want of a twin: warn, and it scans as before.
    BEGIN
      PERFORM conversa_gin_twin(r.objid::regclass);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'conversa: no GIN twin for index %: %', r.objid::regclass, SQLERRM;
    END;
  END LOOP;
END
$$;

-- dropIndexes: the twin goes with its btree (a dropped collection takes all its indexes).
CREATE OR REPLACE FUNCTION conversa_gin_on_drop_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
            WHERE object_type = 'index' AND object_name NOT LIKE '%\_gin' AND original LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I.%I', r.schema_name, conversa_gin_twin_name(r.object_name));
  END LOOP;
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'conversa_gin_on_create_index') THEN
    CREATE EVENT TRIGGER conversa_gin_on_create_index ON ddl_command_end
      WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION conversa_gin_on_create_index();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'conversa_gin_on_drop_index') THEN
    CREATE EVENT TRIGGER conversa_gin_on_drop_index ON sql_drop
      WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION conversa_gin_on_drop_index();
  END IF;
END
$$;

-- Twins for indexes made before this was installed.
SELECT conversa_gin_twin(i.indexrelid::regclass)
  FROM pg_index i
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace ns ON ns.oid = t.relnamespace
 WHERE ns.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public')
   AND NOT EXISTS (SELECT 1 FROM pg_class g
                    WHERE g.relnamespace = t.relnamespace
                      AND g.relname = conversa_gin_twin_name((SELECT relname FROM pg_class WHERE oid = i.indexrelid)));

/**
 * Which MongoDB-wire server the store talks to, and what follows from it. Real MongoDB and
 * FerretDB 1.x (the local default, on PostgreSQL) run the same store code; only these
 * decisions differ.
 */

/** `ferretdb`: FerretDB (any 1.x backend); `mongodb`: a real mongod or mongos. */
export type StoreBackend = 'mongodb' | 'ferretdb';

/**
 * Whether the store serializes updates of one document with document locks:
 * `auto` (default) takes them on FerretDB and not on MongoDB; `on` and `off` force it.
 * Config: STORE_DOCUMENT_LOCKS.
 */
export type DocumentLocksMode = 'auto' | 'on' | 'off';

/** FerretDB answers `buildInfo` with its own `ferretdbVersion` next to the MongoDB version it mimics. */
export function backendFromBuildInfo(info: Record<string, unknown>): StoreBackend {
  return typeof info.ferretdbVersion === 'string' ? 'ferretdb' : 'mongodb';
}

/**
 * FerretDB 1.x applies every update as read-modify-write in its own process with no version
 * check (FerretDB#3040): two concurrent conditional updates of one document can both apply,
 * or one can be lost. Real MongoDB applies each single-document update atomically, so the
 * store's conditional updates are safe there without locks.
 */
export function documentLocksWanted(mode: DocumentLocksMode, backend: StoreBackend): boolean {
  switch (mode) {
    case 'on':
      return true;
    case 'off':
      return false;
    case 'auto':
      return backend === 'ferretdb';
  }
}

/**
 * Whether a look-up of a few `_id`s should be point look-ups instead of one `$in`: FerretDB
 * 1.x pushes only top-level equality down to PostgreSQL, so `{_id: {$in: …}}` reads the whole
 * collection; MongoDB answers `$in` from its `_id` index in one round trip.
 */
export function pointLookupsForIn(backend: StoreBackend): boolean {
  return backend === 'ferretdb';
}

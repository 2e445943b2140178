/** A unique index refused a write; `index` names which one (e.g. "room_seq"). */
export class DuplicateKeyError extends Error {
  constructor(
    readonly index: string,
    cause: unknown,
  ) {
    super(`duplicate key on ${index}`, { cause });
    this.name = 'DuplicateKeyError';
  }
}

interface MongoDupError {
  code?: number;
  keyPattern?: Record<string, unknown>;
  message?: string;
}

/** Maps MongoDB's E11000 to DuplicateKeyError naming the index's fields; rethrows anything else. */
export function asDuplicate(e: unknown): DuplicateKeyError | undefined {
  const err = e as MongoDupError;
  if (err?.code !== 11000) return undefined;
  let index = 'unknown';
  if (err.keyPattern && Object.keys(err.keyPattern).length > 0) {
    index = Object.keys(err.keyPattern).join('_');
  } else if (typeof err.message === 'string') {
    // FerretDB and older servers name the index only in the message: "... index: room_seq dup key ..."
    const m = /index: (\S+)/.exec(err.message);
    if (m?.[1]) index = m[1];
    else if (err.message.includes('_id')) index = '_id';
  }
  return new DuplicateKeyError(normalizeIndex(index), e);
}

function normalizeIndex(index: string): string {
  if (index === 'room_seq' || index === 'room_1_seq_1') return 'room_seq';
  if (index === 'authorId_clientMsgId' || index === 'author_clientMsgId' || index === 'authorId_1_clientMsgId_1') {
    return 'author_clientMsgId';
  }
  if (index.startsWith('username')) return 'username';
  if (index.startsWith('_id')) return '_id';
  return index;
}

/** A batch insert stopped at a refused document: `inserted` of the first ones are stored. */
export class PartialInsertError extends Error {
  constructor(
    readonly inserted: number,
    cause: unknown,
  ) {
    super(`batch insert stopped after ${inserted} documents`, { cause });
    this.name = 'PartialInsertError';
  }
}

/** True when a write failed only on duplicate keys (a single one, or every error of an unordered insertMany). */
export function isAllDuplicates(e: unknown): boolean {
  if (asDuplicate(e)) return true;
  const errors = (e as { writeErrors?: unknown[] }).writeErrors;
  return !!errors && errors.length > 0 && errors.every((w) => asDuplicate(w) ?? asDuplicate((w as { err?: unknown }).err));
}

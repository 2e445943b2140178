/** Where a search page ended: the last hit's rank, time and id (opaque to clients: base64url JSON). */
export interface SearchCursor {
  rank: string;
  createdAt: Date;
  id: string;
}

export class SearchCursorError extends Error {
  constructor() {
    super('not a cursor this API returned');
    this.name = 'SearchCursorError';
  }
}

export function encodeCursor(c: SearchCursor): string {
  return Buffer.from(JSON.stringify([c.rank, c.createdAt.toISOString(), c.id])).toString('base64url');
}

export function decodeCursor(text: string): SearchCursor {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3) throw new Error('shape');
    const [rank, at, id] = v as unknown[];
    const createdAt = new Date(String(at));
    if (typeof rank !== 'string' || !/^\d+(\.\d+)?$/.test(rank) || typeof id !== 'string' || id.length === 0 || Number.isNaN(createdAt.getTime())) {
      throw new Error('shape');
    }
    return { rank, createdAt, id };
  } catch {
    throw new SearchCursorError();
  }
}

export { PostgresSearchIndex, ensureDatabase, type PostgresSearchOptions } from './postgres.js';
export type { SearchIndex, SearchRequest, SearchPage, SearchHitRef, SearchableStatus } from './index-port.js';
export { parseQuery, toTsqueryText, MAX_QUERY_LEXEMES, type ParsedQuery, type QueryClause, type QueryLexeme } from './query.js';
export { tokenize, foldWord, cjkGrams, lexemes, toTsvectorText, type Token } from './text.js';
export { snippet, SNIPPET_LENGTH } from './snippet.js';
export { encodeCursor, decodeCursor, SearchCursorError, type SearchCursor } from './cursor.js';
export { fold, merge, stateOf, type MessageChange, type MessageState, type IndexedStatus } from './state.js';

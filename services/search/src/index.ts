export { createSearchIndexer, type SearchIndexerService, type SearchIndexerStats } from './search-service.js';
export { planBatch, changeOf, INDEXED_TYPES } from './indexer.js';
export { rebuildFromStore, REBUILT_KEY, type RebuildSource } from './rebuild.js';

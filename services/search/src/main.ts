import { loadConfig } from '@conversa/config';
import { createLogger, runService, startTracing } from '@conversa/observability';
import { createSearchIndexer } from './search-service.js';

const config = loadConfig();
startTracing('search', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const logger = createLogger('search', config.LOG_LEVEL);
void runService('search', logger, () => createSearchIndexer(config, logger));

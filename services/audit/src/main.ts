import { loadConfig } from '@conversa/config';
import { createLogger, runService, startTracing } from '@conversa/observability';
import { createAudit } from './audit.js';

const config = loadConfig();
startTracing('audit', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const logger = createLogger('audit', config.LOG_LEVEL);
void runService('audit', logger, () => createAudit(config, logger));

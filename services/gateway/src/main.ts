import { loadConfig } from '@conversa/config';
import { createLogger, runService, startTracing } from '@conversa/observability';
import { createGateway } from './gateway.js';

const config = loadConfig();
startTracing('gateway', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const logger = createLogger('gateway', config.LOG_LEVEL);
void runService('gateway', logger, () => createGateway(config, logger));

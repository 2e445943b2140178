import { loadConfig } from '@conversa/config';
import { createLogger, runService, startTracing } from '@conversa/observability';
import { createChat } from './chat.js';

const config = loadConfig();
startTracing('chat', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const logger = createLogger('chat', config.LOG_LEVEL);
void runService('chat', logger, () => createChat(config, logger));

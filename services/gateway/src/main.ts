import { loadConfig } from '@conversa/config';
import { createLogger, runService } from '@conversa/observability';
import { createGateway } from './gateway.js';

const config = loadConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);
void runService('gateway', logger, () => createGateway(config, logger));

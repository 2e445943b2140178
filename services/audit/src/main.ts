import { loadConfig } from '@conversa/config';
import { createLogger, runService } from '@conversa/observability';
import { createAudit } from './audit.js';

const config = loadConfig();
const logger = createLogger('audit', config.LOG_LEVEL);
void runService('audit', logger, () => createAudit(config, logger));

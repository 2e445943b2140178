import { loadConfig } from '@conversa/config';
import { createLogger, runService } from '@conversa/observability';
import { createChat } from './chat.js';

const config = loadConfig();
const logger = createLogger('chat', config.LOG_LEVEL);
void runService('chat', logger, () => createChat(config, logger));

import { setFlagsFromString } from 'node:v8';
import { loadConfig } from '@conversa/config';
import { createLogger, runService, startTracing } from '@conversa/observability';
import { createGateway } from './gateway.js';

const config = loadConfig();
// Before the gateway allocates anything: a heap kept near its live size (V8 reads this flag as
// it sizes the heap and decides on memory-reducing collections, so setting it here takes
// effect; NODE_OPTIONS does not accept it). docs/performance.md, S1, has the figures.
if (config.GATEWAY_OPTIMIZE_FOR_SIZE) setFlagsFromString('--optimize-for-size');
startTracing('gateway', { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
const logger = createLogger('gateway', config.LOG_LEVEL);
void runService('gateway', logger, () => createGateway(config, logger));

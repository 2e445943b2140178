export { createLogger, type Logger } from './logger.js';
export {
  runChecks,
  handleProbe,
  createProbeServer,
  listen,
  closeServer,
  type ReadinessCheck,
  type ProbeResult,
} from './probes.js';
export { reach, safeUrl, DependencyUnavailableError } from './startup.js';
export { runService, type Service } from './lifecycle.js';

import { pino, type Logger } from 'pino';
import { activeTraceFields } from './tracing.js';

export type { Logger };

/** Paths that may hold secrets; pino replaces them with "[redacted]" in every line. */
const REDACT = [
  'password',
  'passwordHash',
  'token',
  'authorization',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'connectionParams.authorization',
];

/** A JSON logger named after its service; secrets are redacted. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Lines written inside a traced operation carry its trace_id and span_id.
    mixin: activeTraceFields,
  });
}

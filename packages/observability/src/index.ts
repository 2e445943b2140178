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
export {
  createMetrics,
  handleMetrics,
  type Metrics,
  type CounterMetric,
  type GaugeMetric,
  type GaugeCollect,
  type HistogramMetric,
  type Labels,
  LATENCY_BUCKETS,
} from './metrics.js';
export { dependencyErrorCounter, type Dependency, type DependencyErrorHook } from './dependency-errors.js';
export {
  startTracing,
  stopTracing,
  withSpan,
  withSpans,
  currentTraceparent,
  contextFrom,
  activeTraceFields,
  SpanKind,
  type TracingOptions,
  type SpanOptions,
} from './tracing.js';

import { z } from 'zod';

/**
 * Every environment variable conversa reads, declared once. `loadConfig` parses them all,
 * reports every bad variable at once, and hands out a frozen, typed object.
 * This module is the only one that reads `process.env`.
 */
const DEV_JWT_SECRET = 'conversa-development-secret-change-me-0123456789';

const port = z.coerce.number().int().min(0).max(65_535);
const ms = z.coerce.number().int().positive();
const count = z.coerce.number().int().positive();
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** A rate limit `N/<duration>` (`30/10s`, `600/1m`): at most N in each fixed window. */
const rate = (byDefault: string) =>
  z
    .string()
    .regex(/^\d+\/\d+(ms|s|m|h)$/, 'N/<duration>, e.g. 30/10s')
    .default(byDefault)
    .transform((s) => {
      const [, n, d, unit] = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(s) ?? [];
      return { limit: Number(n), windowMs: Number(d) * UNIT_MS[unit as keyof typeof UNIT_MS] };
    })
    .pipe(z.object({ limit: z.number().int().positive(), windowMs: z.number().int().positive() }));

/** A parsed rate limit: at most `limit` per fixed window of `windowMs`. */
export type RateLimitSetting = z.infer<ReturnType<typeof rate>>;

export const ConfigSchema = z
  .object({
    /** development | test | production; production refuses unsafe defaults. */
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Prefix of queue, topics, channels, consumer groups and the database name. */
    CONVERSA_NAMESPACE: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,47}$/, 'lower-case letters, digits, _ or -, starting with a letter')
      .default('conversa'),
    MONGO_URL: z.string().url().default('mongodb://127.0.0.1:27017'),
    /** Database name; defaults to the namespace. */
    MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/).optional(),
    /**
     * Document locks around the store's updates (in-process, and through Redis across chat
     * processes): `auto` takes them when the server is FerretDB (its updates are
     * read-modify-write, not atomic) and not on real MongoDB, as `buildInfo` tells; `on` and
     * `off` force it. See docs/operations.md.
     */
    STORE_DOCUMENT_LOCKS: z.enum(['auto', 'on', 'off']).default('auto'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    /** Comma-separated host:port list. */
    KAFKA_BROKERS: z
      .string()
      .default('127.0.0.1:9092')
      .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1)),
    /** Partitions of the topics conversa creates (events are keyed by room). */
    KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1_000).default(6),
    /** Interface the HTTP servers bind; loopback unless deployed. */
    HOST: z.string().default('127.0.0.1'),
    /** Gateway port: HTTP and WebSocket, both at /graphql. */
    PORT: port.default(4_000),
    /**
     * Gateway: serve `/metrics` on this port (on HOST) instead of the public one; unset: on
     * PORT as before. A port the load balancer does not expose keeps metrics off the internet.
     */
    METRICS_PORT: port.optional(),
    /** The web client's build folder the gateway serves at / (default: dist/ of the installed @conversa/web). */
    WEB_DIST_DIR: z.string().min(1).optional(),
    /** Chat service's health/metrics port. */
    CHAT_PORT: port.default(4_001),
    /** Audit service's health/metrics port. */
    AUDIT_PORT: port.default(4_002),
    /**
     * How often the audit service proves the log complete against the stored messages and hands
     * missing events back to the events topic, ms (60 s; 0 = never, `conversa audit reconcile`
     * still works).
     */
    AUDIT_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
    /** Messages younger than this are left to the normal path by the reconciliation, ms (30 s). */
    AUDIT_RECONCILE_SETTLE_MS: ms.default(30_000),
    /** Search indexer's health/metrics port. */
    SEARCH_PORT: port.default(4_003),
    /** PostgreSQL of the search index (its own database; created on first use when the role may). */
    SEARCH_PG_URL: z.string().url().default('postgres://conversa@127.0.0.1:54329/conversa_search'),
    /** Schema of this namespace's index in that database; defaults to the namespace. */
    SEARCH_PG_SCHEMA: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/).optional(),
    /** Connections each process keeps to the search database (gateway: queries; search: writes). */
    SEARCH_PG_POOL: z.coerce.number().int().min(1).max(100).default(10),
    /** HS256 secret for session tokens; production demands ≥ 32 chars and not the default. */
    JWT_SECRET: z.string().min(16).default(DEV_JWT_SECRET),
    /** Session lifetime, seconds (12 h). */
    JWT_TTL_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(43_200),
    /** How long a mutation waits for its command's result, ms (10 s). */
    COMMAND_TIMEOUT_MS: ms.default(10_000),
    /**
     * Admission control: how long an admitted command may wait in the queue before a chat
     * worker starts it, ms (default: 1 s, at most half of COMMAND_TIMEOUT_MS). Beyond what the
     * workers' measured rate starts within it, commands are refused at once with UNAVAILABLE and
     * a retryAfter.
     */
    ADMISSION_BUDGET_MS: ms.optional(),
    /** Jobs the queue takes whatever the measured service rate (a cold system has none yet), 50. */
    ADMISSION_MIN_BACKLOG: z.coerce.number().int().min(1).max(1_000_000).default(50),
    /** Commands one chat worker process runs at once. */
    CHAT_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(64),
    /**
     * How long a chat process trusts what it cached of a user, room, membership or mutes
     * without hearing of a change, ms (5 s). Changes evict at once through Redis; this only
     * bounds staleness if a notice was lost.
     */
    CHAT_READ_CACHE_TTL_MS: ms.default(5_000),
    /** Outbox relay sweep period, ms (2 s); fresh events are handed to it after each write. */
    OUTBOX_SWEEP_MS: ms.default(2_000),
    /**
     * TTL of each gateway's liveness key, ms (30 s): a gateway that dies stops refreshing it, and
     * its users and sockets drop out of presence and the per-user socket count once it expires.
     */
    PRESENCE_TTL_MS: ms.default(30_000),
    /** How often a gateway refreshes its liveness key and reaps dead gateways' entries, ms (10 s). */
    PRESENCE_HEARTBEAT_MS: ms.default(10_000),
    /**
     * The gateway runs V8 with --optimize-for-size (false): a heap kept near its live size at
     * every collection, which halves fan-out throughput (docs/performance.md, S1 and S2). The
     * default keeps V8's sizing and gives a connect storm's garbage back once it is over
     * (GATEWAY_SETTLE_GC_CONNECTS).
     */
    GATEWAY_OPTIMIZE_FOR_SIZE: flag.default(false),
    /**
     * After this many connects, one full garbage collection 5 s after the last of them (1,000;
     * 0: never): a gateway of idle sockets otherwise keeps the heap a connect storm grew.
     */
    GATEWAY_SETTLE_GC_CONNECTS: z.coerce.number().int().min(0).default(1_000),
    /** At most one typing signal per user and room in this window, ms (2 s). */
    TYPING_THROTTLE_MS: ms.default(2_000),
    /**
     * Moderation rules file (YAML or JSON) read by the audit service at start; a file that does
     * not parse stops it. Default: services/audit/rules/default.yaml, shipped with the service.
     */
    MODERATION_RULES_FILE: z.string().min(1).optional(),
    /** Messages that may wait for one slow subscriber before its socket is closed with 4413. */
    WS_MAX_PENDING_MESSAGES: z.coerce.number().int().min(1).max(1_000).default(1_000),
    /**
     * Bytes a socket may leave unsent (its reader does not keep up) before the gateway closes it
     * with 4413; the client resumes with `after` (1 MiB). Bounds the gateway's memory per socket.
     */
    /**
     * How long a gateway trusts a cached "not muted, not banned" for a user without an access
     * signal, ms (5 s). Mutes and bans evict at once through the access channel; this only
     * bounds staleness if a signal was lost.
     */
    GATEWAY_ACCESS_CACHE_TTL_MS: ms.default(5_000),
    /**
     * The gateway's listen backlog: connections the kernel queues before the process accepts
     * them (4096; the kernel caps it at net.core.somaxconn). Reconnect storms need it long.
     */
    LISTEN_BACKLOG: count.default(4_096),
    WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(16_384).default(1_048_576),
    /** How long a service waits for a dependency at start before it exits, ms (15 s). */
    STARTUP_TIMEOUT_MS: ms.default(15_000),
    /**
     * OTLP/HTTP endpoint for traces (e.g. http://otel-collector:4318: spans go to /v1/traces).
     * Unset: tracing is off. The name is the OpenTelemetry standard one.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),

    // ---- gateway hardening (docs/security.md) -------------------------------------------
    /**
     * Browser origins allowed to call the gateway (CORS on HTTP, the WebSocket upgrade):
     * comma-separated `scheme://host[:port]`. A request whose Origin is the gateway's own
     * (same host) or that sends no Origin (not a browser) is always allowed; any other gets 403.
     */
    CORS_ORIGINS: z
      .string()
      .default('http://localhost:4000,http://127.0.0.1:4000')
      .transform((s) => s.split(',').map((o) => o.trim().replace(/\/+$/, '').toLowerCase()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'scheme://host[:port]'))),
    /**
     * Trust the last `X-Forwarded-For` entry as the client's address (per-address login limits)
     * when the gateway sits behind a proxy that sets it; off: the socket's peer address.
     */
    TRUST_PROXY: flag.default(false),
    /**
     * Deepest field nesting one operation may have (fragments and introspection count). The
     * schema's own queries need at most 4; the standard introspection query (GraphiQL) needs 15.
     */
    GRAPHQL_MAX_DEPTH: count.default(15),
    /** Aliased fields one operation may have. */
    GRAPHQL_MAX_ALIASES: count.default(30),
    /** Top-level fields one operation may select. */
    GRAPHQL_MAX_ROOT_FIELDS: count.default(20),
    /** Cost budget of one operation: 1 per field, times 10 inside each list (introspection free). */
    GRAPHQL_MAX_COST: count.default(5_000),
    /** Lexical tokens one document may have: bounds parse and validation work (introspection: ~200). */
    GRAPHQL_MAX_TOKENS: count.default(2_000),
    /** A WebSocket must send `connection_init` within this, else it is closed with 4408, ms (3 s). */
    WS_INIT_TIMEOUT_MS: ms.default(3_000),
    /** Live operations (subscriptions) one socket may hold; more are refused with RATE_LIMITED. */
    WS_MAX_SUBSCRIPTIONS_PER_SOCKET: count.default(100),
    /** Sockets one user may hold open across all gateways (counted in Redis); more are closed with 4429. */
    WS_MAX_SOCKETS_PER_USER: count.default(20),
    /** Largest WebSocket frame, bytes (1 MiB); a larger one closes the socket with 1009. */
    WS_MAX_PAYLOAD_BYTES: count.default(1_048_576),
    /** Largest `connection_init` payload (connectionParams) as JSON, bytes (4 KiB); larger: 4400. */
    WS_MAX_CONNECTION_PARAMS_BYTES: count.default(4_096),
    /** Per-user limit, shared by all gateways (Redis): sendMessage and editMessage. `N/window`. */
    RATE_LIMIT_SEND: rate('600/60s'),
    /**
     * Per person and room, shared by all gateways (Redis): a token bucket of this many sends
     * (20), refilled at RATE_LIMIT_ROOM_SEND_REFILL. A burst (a paste, a bot's report) goes
     * through at once; a longer flood is answered RATE_LIMITED with the seconds to wait
     * (docs/security.md). The flood rule of moderation is set above what this lets through.
     */
    RATE_LIMIT_ROOM_SEND_BURST: count.default(20),
    /** Refill of that bucket, `N/<duration>` (1/1s: one send a second sustained, like Slack and Telegram). */
    RATE_LIMIT_ROOM_SEND_REFILL: rate('1/1s'),
    /**
     * How long a gateway trusts what it read of a room's slow mode, ms (5 s). The gateway that
     * served `setSlowMode` forgets it at once; the others see the change within this.
     */
    SLOW_MODE_CACHE_TTL_MS: ms.default(5_000),
    /** Per-user limit on setTyping calls. */
    RATE_LIMIT_TYPING: rate('300/60s'),
    /** Per-user limit on subscribe operations over WebSocket. */
    RATE_LIMIT_SUBSCRIBE: rate('600/60s'),
    /** Per-user limit on joinRoom and openDirectRoom. */
    RATE_LIMIT_JOIN: rate('120/60s'),
    /** Per-address limit on login and register attempts (both cost an argon2 hash). */
    RATE_LIMIT_AUTH: rate('300/60s'),
    /** Failed logins per username before the lockout starts (then it doubles per failure). */
    LOGIN_FREE_FAILURES: count.default(5),
    /** Failed logins per address before the lockout starts (many people may share an address). */
    LOGIN_ADDRESS_FREE_FAILURES: count.default(50),
    /** First lockout, ms (1 s); each further failure doubles it. */
    LOGIN_LOCKOUT_BASE_MS: ms.default(1_000),
    /** Longest lockout, ms (15 min). */
    LOGIN_LOCKOUT_MAX_MS: ms.default(900_000),
    /** Failures are forgotten after this long without a new one, ms (15 min). */
    LOGIN_FAILURE_WINDOW_MS: ms.default(900_000),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && (c.JWT_SECRET === DEV_JWT_SECRET || c.JWT_SECRET.length < 32)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'production needs a JWT_SECRET of at least 32 characters that is not the default',
      });
    }
  })
  .transform((c) => ({ ...c, MONGO_DB: c.MONGO_DB ?? c.CONVERSA_NAMESPACE, SEARCH_PG_SCHEMA: c.SEARCH_PG_SCHEMA ?? c.CONVERSA_NAMESPACE }));

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (or the given record); throws a ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ConfigSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  return Object.freeze(parsed.data);
}

/** Variables, defaults and descriptions, for docs and `conversa config`. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.in.shape) as (keyof z.input<typeof ConfigSchema>)[];

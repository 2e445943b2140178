/**
 * Names of everything that crosses a process boundary, derived from one namespace so that
 * tests (and tenants) can run side by side without seeing each other's traffic.
 */
export interface Names {
  /** BullMQ key prefix (the namespace); BullMQ forbids ':' in queue names, not in prefixes. */
  readonly queuePrefix: string;
  /** The BullMQ queue that carries every command to the chat workers. */
  readonly commandQueue: 'commands';
  /** Kafka topic of every domain event, keyed by room id (per-room order). */
  readonly eventsTopic: string;
  /** Kafka topic of moderation actions flowing back to chat. */
  readonly moderationTopic: string;
  /** Kafka dead-letter topic: events nobody could parse, with the reason in headers. */
  readonly deadLetterTopic: string;
  /** Kafka consumer group of the audit log writer. */
  readonly auditGroup: string;
  /** Kafka consumer group of the moderation rules (audit service process), on the events topic. */
  readonly moderationGroup: string;
  /** Kafka consumer group of the chat service applying moderation actions. */
  readonly chatModerationGroup: string;
  /** Kafka consumer group of the search indexer (services/search), on the events topic. */
  readonly searchGroup: string;
  /** BullMQ queue (prefix `queuePrefix`) of timed moderation actions: a mute's end. */
  readonly moderationTimerQueue: 'moderation-timers';
  /** Redis pub/sub channel of one room's live events. */
  readonly roomChannel: (roomId: string) => string;
  /** Redis key of one room's activity as room lists read it (a cache of `room_activity`, FerretDB only). */
  readonly roomActivity: (roomId: string) => string;
  /** Redis pub/sub channel of one person's room-list changes (`UserSignal`). */
  readonly userChannel: (userId: string) => string;
  /** Redis pub/sub channel of access revocations (`AccessSignal`), one per namespace. */
  readonly accessChannel: string;
  /** Redis pub/sub channel on which chat processes tell each other what to drop from their read caches. */
  readonly chatCacheChannel: string;
  /**
   * Redis key of the commands the chat workers finished in one second (epoch seconds), summed
   * over workers: the service rate the gateways' admission control reads.
   */
  readonly commandsDoneKey: (epochSecond: number) => string;
  /**
   * Redis key (a TTL of PRESENCE_TTL_MS, refreshed every PRESENCE_HEARTBEAT_MS) that says one
   * gateway instance is alive. Presence and socket-count entries name their gateway; entries
   * of a gateway whose key is gone are dead. The Lua scripts build it as `gatewayAlive('')`
   * followed by the gateway id.
   */
  readonly gatewayAlive: (gatewayId: string) => string;
  /** Redis set of the gateway ids that may hold entries (what the reapers walk). */
  readonly gateways: string;
  /** Redis set of the presence scopes in which one gateway holds users (its reaper walks it). */
  readonly gatewayScopes: (gatewayId: string) => string;
  /** Redis set of the users that hold a socket slot on one gateway (its reaper walks it). */
  readonly gatewaySocketUsers: (gatewayId: string) => string;
  /**
   * Redis hash of one user's open sockets on every gateway (socket id → its gateway id). The
   * Lua scripts build it as `userSockets('')` followed by the user id.
   */
  readonly userSockets: (userId: string) => string;
  /** Redis key (with a TTL) that throttles one user's typing signals in one room. */
  readonly typingThrottle: (roomId: string, userId: string) => string;
  /** Redis set of the gateways that hold users in a presence scope (a room id, or global). */
  readonly presenceGateways: (scope: string) => string;
  /**
   * Redis set of the users one gateway holds in a presence scope (one member however many of
   * the user's connections on that gateway are in it). The Lua scripts build it as
   * `presenceUsers(scope, '')` followed by the gateway id.
   */
  readonly presenceUsers: (scope: string, gatewayId: string) => string;
  /** Redis key of one fixed-window rate limit: an action by one subject (user id or address). */
  readonly rateLimit: (action: string, subject: string) => string;
  /** Redis hash of one person's token bucket for sends into one room (and its slow mode). */
  readonly roomSendBucket: (roomId: string, userId: string) => string;
  /** Redis hash of failed sign-ins for one username (lower-cased by the caller). */
  readonly loginFailuresByUser: (username: string) => string;
  /** Redis hash of failed sign-ins from one address. */
  readonly loginFailuresByAddress: (address: string) => string;
}

export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,47}$/;

export function names(namespace: string): Names {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`namespace must match ${String(NAMESPACE_PATTERN)}, got ${JSON.stringify(namespace)}`);
  }
  return Object.freeze({
    queuePrefix: namespace,
    commandQueue: 'commands' as const,
    eventsTopic: `${namespace}.events`,
    moderationTopic: `${namespace}.moderation.actions`,
    deadLetterTopic: `${namespace}.dlq`,
    auditGroup: `${namespace}-audit`,
    moderationGroup: `${namespace}-moderation`,
    chatModerationGroup: `${namespace}-chat-moderation`,
    searchGroup: `${namespace}-search-indexer`,
    moderationTimerQueue: 'moderation-timers' as const,
    roomChannel: (roomId: string) => `${namespace}:room:${roomId}`,
    userChannel: (userId: string) => `${namespace}:user:${userId}`,
    roomActivity: (roomId: string) => `${namespace}:activity:${roomId}`,
    accessChannel: `${namespace}:access`,
    chatCacheChannel: `${namespace}:chat-cache`,
    commandsDoneKey: (epochSecond: number) => `${namespace}:commands-done:${epochSecond}`,
    gatewayAlive: (gatewayId: string) => `${namespace}:gateway-alive:${gatewayId}`,
    gateways: `${namespace}:gateways`,
    gatewayScopes: (gatewayId: string) => `${namespace}:gateway-scopes:${gatewayId}`,
    gatewaySocketUsers: (gatewayId: string) => `${namespace}:gateway-socket-users:${gatewayId}`,
    userSockets: (userId: string) => `${namespace}:user-sockets:${userId}`,
    typingThrottle: (roomId: string, userId: string) => `${namespace}:typing:${roomId}:${userId}`,
    presenceGateways: (scope: string) => `${namespace}:presence-gateways:${scope}`,
    presenceUsers: (scope: string, gatewayId: string) => `${namespace}:presence:${scope}@${gatewayId}`,
    rateLimit: (action: string, subject: string) => `${namespace}:rl:${action}:${subject}`,
    roomSendBucket: (roomId: string, userId: string) => `${namespace}:rl:room-send:${roomId}:${userId}`,
    loginFailuresByUser: (username: string) => `${namespace}:login:user:${username}`,
    loginFailuresByAddress: (address: string) => `${namespace}:login:addr:${address}`,
  });
}

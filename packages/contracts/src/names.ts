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
  /** BullMQ queue (prefix `queuePrefix`) of timed moderation actions: a mute's end. */
  readonly moderationTimerQueue: 'moderation-timers';
  /** Redis pub/sub channel of one room's live events. */
  readonly roomChannel: (roomId: string) => string;
  /** Redis pub/sub channel of access revocations (`AccessSignal`), one per namespace. */
  readonly accessChannel: string;
  /** Redis pub/sub channel on which chat processes tell each other what to drop from their read caches. */
  readonly chatCacheChannel: string;
  /**
   * Redis key of the commands the chat workers finished in one second (epoch seconds), summed
   * over workers: the service rate the gateways' admission control reads.
   */
  readonly commandsDoneKey: (epochSecond: number) => string;
  /** Redis sorted set of one user's open sockets on every gateway (socket id → expiry, epoch ms). */
  readonly userSockets: (userId: string) => string;
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
    moderationTimerQueue: 'moderation-timers' as const,
    roomChannel: (roomId: string) => `${namespace}:room:${roomId}`,
    accessChannel: `${namespace}:access`,
    chatCacheChannel: `${namespace}:chat-cache`,
    commandsDoneKey: (epochSecond: number) => `${namespace}:commands-done:${epochSecond}`,
    userSockets: (userId: string) => `${namespace}:sockets:${userId}`,
  });
}

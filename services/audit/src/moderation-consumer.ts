import { MODERATION_ACTION_VERSION, type DomainEvent, type ModerationAction } from '@conversa/contracts';
import { splitRecords, type DeadLetterQueue, type EventProducer, type IncomingBatch, type OutgoingRecord } from '@conversa/kafka';
import type { Logger } from '@conversa/observability';
import { decodeEvent } from './audit-entry.js';
import { toActions } from './moderation/actions.js';
import type { MessageFacts, ModerationEngine } from './moderation/rules.js';

export interface ModerationConsumerDeps {
  engine: ModerationEngine;
  producer: EventProducer;
  /** `names(ns).moderationTopic`. */
  topic: string;
  deadLetters: DeadLetterQueue;
  logger: Logger;
  now?: () => Date;
  /** Called for each action sent (metrics). */
  onAction?: (a: ModerationAction) => void;
  /** Called for each message the rules looked at (metrics). */
  onChecked?: () => void;
}

/** The message an event carries, as the rules see it; undefined for events that carry none to check. */
export function messageFacts(e: DomainEvent): MessageFacts | undefined {
  if (e.type !== 'message.posted' && e.type !== 'message.edited') return undefined;
  const m = e.data.message;
  if (m.status !== 'VISIBLE') return undefined;
  return {
    eventId: e.id,
    kind: e.type === 'message.posted' ? 'posted' : 'edited',
    messageId: m.id,
    room: m.room,
    authorId: m.author.id,
    authorRole: m.author.role,
    body: m.body,
    at: Date.parse(e.occurredAt),
  };
}

/** The Kafka record of an action: keyed by its target, so one target's actions keep their order. */
export function actionRecord(a: ModerationAction): OutgoingRecord {
  return {
    key: a.target,
    value: JSON.stringify(a),
    headers: { 'action-id': a.id, 'action-kind': a.kind, 'action-version': String(MODERATION_ACTION_VERSION) },
  };
}

/**
 * The moderation consumer's batch handler (consumer group `<ns>-moderation` on the events
 * topic): runs the rules on each posted or edited message and sends the resulting actions to
 * the moderation topic, where chat applies them. A record that is not a domain event is
 * dead-lettered. The batch's offsets are committed only after the actions are acknowledged;
 * a redelivered event yields actions with the same ids, which chat applies once.
 */
export function moderationBatchHandler(deps: ModerationConsumerDeps): (batch: IncomingBatch) => Promise<void> {
  const now = deps.now ?? (() => new Date());
  return async (batch) => {
    const { good, dead } = splitRecords(batch.records, decodeEvent);
    await deps.deadLetters.park(dead);
    const actions: ModerationAction[] = [];
    const t = now();
    for (const { value: event } of good) {
      const facts = messageFacts(event);
      if (!facts || !deps.engine.isFresh(facts.at, t.getTime())) continue;
      deps.onChecked?.();
      actions.push(...toActions(facts, deps.engine.evaluate(facts), t));
    }
    if (actions.length === 0) return;
    await deps.producer.send(deps.topic, actions.map(actionRecord));
    for (const a of actions) {
      deps.logger.info(
        { action: a.id, kind: a.kind, rule: a.rule, reason: a.reason, target: a.target, room: a.room, until: a.until },
        `moderation: ${a.kind} by rule ${a.rule ?? '-'}: ${a.reason}`,
      );
      deps.onAction?.(a);
    }
  };
}

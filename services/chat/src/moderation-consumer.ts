import { ErrorCode, ModerationAction, formatZodError, isAppError } from '@conversa/contracts';
import { decodeJsonRecord, splitRecords, type DeadLetter, type DeadLetterQueue, type Decoded, type IncomingBatch, type IncomingRecord } from '@conversa/kafka';
import type { ModerationApplier } from './moderation.js';

/** Parses a record of the moderation topic as an action, or says why it cannot (pure). */
export function decodeAction(record: IncomingRecord): Decoded<ModerationAction> {
  return decodeJsonRecord(record, (json) => {
    const parsed = ModerationAction.safeParse(json);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: `not a moderation action: ${formatZodError(parsed.error)}` };
  });
}

/**
 * The chat service's handler of the moderation topic (consumer group `<ns>-chat-moderation`):
 * applies each action in order. A record that is not an action, or whose target does not
 * exist, is dead-lettered with the reason; anything else that fails throws, so the batch is
 * not committed and comes again (applying is idempotent by action id).
 */
export function chatModerationHandler(deps: { applier: ModerationApplier; deadLetters: DeadLetterQueue }): (batch: IncomingBatch) => Promise<void> {
  return async (batch) => {
    const { good, dead } = splitRecords(batch.records, decodeAction);
    const unusable: DeadLetter[] = [...dead];
    for (const { record, value } of good) {
      try {
        await deps.applier.apply(value);
      } catch (e) {
        if (!isAppError(e) || e.code !== ErrorCode.NOT_FOUND) throw e;
        unusable.push({ record, reason: `target not found: ${e.message}` });
      }
    }
    await deps.deadLetters.park(unusable);
  };
}

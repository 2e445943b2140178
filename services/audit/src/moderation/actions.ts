import { derivedActionId, type ModerationAction } from '@conversa/contracts';
import type { Decision, MessageFacts } from './rules.js';

/** Turns the rules' decisions about one message into actions (pure; `now` is when they are decided). */
export function toActions(m: MessageFacts, decisions: readonly Decision[], now: Date): ModerationAction[] {
  const at = now.toISOString();
  const out: ModerationAction[] = [];
  const seen = new Set<string>();
  for (const d of decisions) {
    const a: ModerationAction =
      d.action.kind === 'mute'
        ? {
            id: derivedActionId(`${m.eventId}/${d.rule}/mute`),
            kind: 'mute',
            target: m.authorId,
            room: d.action.scope === 'room' ? m.room : null,
            reason: d.reason,
            rule: d.rule,
            by: null,
            at,
            until: new Date(now.getTime() + Math.max(1, Math.round(d.action.minutes * 60_000))).toISOString(),
          }
        : {
            id: derivedActionId(`${m.eventId}/${d.rule}/${d.action.kind}`),
            kind: d.action.kind,
            target: m.messageId,
            room: m.room,
            reason: d.reason,
            rule: d.rule,
            by: null,
            at,
            until: null,
          };
    // Two rules asking the same thing of the same target: the first one (in file order) speaks.
    const key = `${a.kind}/${a.target}/${a.room ?? '*'}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(a);
  }
  return out;
}

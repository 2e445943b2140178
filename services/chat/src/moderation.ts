import {
  derivedActionId,
  newEvent,
  notFound,
  type AccessSignal,
  type ModerationAction,
  type RoomSignal,
  type UserView,
} from '@conversa/contracts';
import {
  DuplicateKeyError,
  GHOST_USER,
  toMessageView,
  toUserView,
  type MessageDoc,
  type ModerationActionDoc,
  type Store,
} from '@conversa/store';
import type { Logger } from '@conversa/observability';
import { muteId, replacesMute } from './rules.js';

/** Ends timed mutes (a BullMQ delayed job in production: adapters/timers.ts). */
export interface MuteTimers {
  /** Schedules the end of a mute; scheduling the same mute action again is a no-op. */
  schedule(t: { muteId: string; action: string; until: Date }): Promise<void>;
}

export interface ModerationDeps {
  /** Users and messages it reads and changes, moderation records and mutes. */
  store: Pick<Store, 'users' | 'messages' | 'moderation'>;
  publish: (room: string, signal: RoomSignal) => Promise<void>;
  timers: MuteTimers;
  logger: Logger;
  now: () => Date;
}

export interface Applied {
  /** False when the action had been applied already (same id): nothing was done again. */
  applied: boolean;
  action: ModerationAction;
  /** The message after a hide or unhide. */
  message?: MessageDoc;
}

/** The stored action as the contract shows it. */
export function toModerationAction(d: Omit<ModerationActionDoc, 'outbox' | 'outboxPending'>): ModerationAction {
  return {
    id: d._id,
    kind: d.kind,
    target: d.target,
    room: d.room,
    reason: d.reason,
    rule: d.rule,
    by: d.by,
    at: d.at.toISOString(),
    until: d.until ? d.until.toISOString() : null,
  };
}

/**
 * Applies moderation actions, whether a rule (through Kafka), an admin (through a command) or a
 * timer decided them: hides and unhides messages (subscribers get `messageUpdated`), stores and
 * lifts mutes, and records every action in `moderation_actions` with its `moderation.action`
 * audit event in the same write (the outbox relay takes it to Kafka and the audit log).
 *
 * Idempotent by action id: the effect is applied first, the record written last, so an action
 * delivered again after a crash in between is applied again (each effect is itself idempotent)
 * and then recorded once.
 */
export class ModerationApplier {
  /**
   * Tells every gateway that a user may no longer read a room live (a mute) or anything (a
   * ban), so that their open subscriptions end at once (`Names.accessChannel`). Set by chat.ts;
   * best effort: gateways also check the mutes at each subscribe.
   */
  revokeAccess: ((signal: AccessSignal) => Promise<void>) | undefined;

  constructor(private readonly deps: ModerationDeps) {}

  async apply(a: ModerationAction): Promise<Applied> {
    const done = await this.deps.store.moderation.findAction(a.id);
    if (done) return { applied: false, action: toModerationAction(done) };
    let message: MessageDoc | undefined;
    switch (a.kind) {
      case 'hide':
        message = await this.setHidden(a, true);
        break;
      case 'unhide':
        message = await this.setHidden(a, false);
        break;
      case 'flag':
        await this.messageOf(a);
        break;
      case 'mute':
      case 'ban':
        await this.mute(a);
        break;
      case 'unmute':
        await this.unmute(a);
        break;
    }
    await this.record(a);
    return { applied: true, action: a, ...(message ? { message } : {}) };
  }

  /**
   * Ends a mute when its time is up (the timer job). A no-op when the mute was lifted or
   * replaced meanwhile; the unmute action's id derives from the mute's, so a job that runs
   * twice records one unmute.
   */
  async expire(id: string, action: string): Promise<boolean> {
    const mute = await this.deps.store.moderation.findMute(id);
    if (!mute || mute.action !== action) return false;
    const unmute: ModerationAction = {
      id: derivedActionId(`mute-ended/${action}`),
      kind: 'unmute',
      target: mute.user,
      room: mute.room,
      reason: 'the mute ended',
      rule: null,
      by: null,
      at: this.deps.now().toISOString(),
      until: null,
    };
    // Record first: a crash after it leaves the mute, and the retried job lifts it.
    if (!(await this.deps.store.moderation.findAction(unmute.id))) await this.record(unmute);
    const lifted = await this.deps.store.moderation.removeMute(id, action);
    if (lifted) this.deps.logger.info({ user: mute.user, room: mute.room, action }, 'mute ended');
    return lifted;
  }

  /** Schedules the end of every stored timed mute: a Redis that lost its delayed jobs loses no unmute. */
  async rescheduleAll(): Promise<number> {
    let n = 0;
    for (const m of await this.deps.store.moderation.listMutes()) {
      if (!m.until) continue;
      await this.deps.timers.schedule({ muteId: m._id, action: m.action, until: m.until });
      n++;
    }
    return n;
  }

  private async messageOf(a: ModerationAction): Promise<MessageDoc> {
    const m = await this.deps.store.messages.findById(a.target);
    if (!m) throw notFound(`id: no message "${a.target}"`);
    return m;
  }

  private async setHidden(a: ModerationAction, hide: boolean): Promise<MessageDoc> {
    const m = await this.messageOf(a);
    const from = hide ? 'VISIBLE' : 'HIDDEN';
    if (m.status !== from) return m; // already so, or deleted: nothing to change
    const author = await this.authorOf(m.authorId);
    const to = hide ? 'HIDDEN' : 'VISIBLE';
    const view = toMessageView({ ...m, status: to }, author);
    const event = hide
      ? newEvent('message.hidden', m.room, a.by, { message: view, action: a.id, reason: a.reason, rule: a.rule }, this.deps.now())
      : newEvent('message.unhidden', m.room, a.by, { message: view, action: a.id }, this.deps.now());
    // The body stays stored: admins still read a hidden message, and unhiding restores it.
    const stored = await this.deps.store.messages.update(m._id, [from], { status: to }, event);
    if (!stored) return (await this.deps.store.messages.findById(m._id)) ?? m; // changed meanwhile
    try {
      await this.deps.publish(m.room, { kind: 'message.updated', message: toMessageView(stored, author) });
      // A reply's root has a new reply count (the store recounted it with the update).
      const root = stored.parentId ? await this.deps.store.messages.findById(stored.parentId) : null;
      if (root) await this.deps.publish(m.room, { kind: 'message.updated', message: toMessageView(root, await this.authorOf(root.authorId)) });
    } catch (e) {
      this.deps.logger.warn({ err: e, room: m.room }, 'room signal not published');
    }
    return stored;
  }

  private async mute(a: ModerationAction): Promise<void> {
    const user = await this.deps.store.users.findById(a.target);
    if (!user) throw notFound(`userId: no user "${a.target}"`);
    const id = muteId(user._id, a.room);
    const until = a.kind === 'ban' ? null : a.until ? new Date(a.until) : null;
    const current = await this.deps.store.moderation.findMute(id);
    if (current?.action === a.id) {
      // Stored before a crash: only make sure its end is scheduled.
    } else if (!replacesMute(current, { until, by: a.by }, this.deps.now())) {
      this.deps.logger.info({ user: user._id, room: a.room, action: a.id }, 'a longer mute is in force; this one changes nothing');
      return;
    } else {
      await this.deps.store.moderation.putMute({ _id: id, user: user._id, room: a.room, until, action: a.id, reason: a.reason, at: new Date(a.at) });
    }
    if (until) await this.deps.timers.schedule({ muteId: id, action: a.id, until });
    try {
      await this.revokeAccess?.({ kind: 'access.revoked', user: user._id, room: a.room, reason: a.kind === 'ban' ? 'banned' : 'muted' });
    } catch (e) {
      this.deps.logger.warn({ err: e, user: user._id, room: a.room }, 'access revocation not published');
    }
  }

  private async unmute(a: ModerationAction): Promise<void> {
    const user = await this.deps.store.users.findById(a.target);
    if (!user) throw notFound(`userId: no user "${a.target}"`);
    if (a.room === null) {
      await this.deps.store.moderation.removeMutesOf(user._id);
      return;
    }
    const m = await this.deps.store.moderation.findMute(muteId(user._id, a.room));
    if (m) await this.deps.store.moderation.removeMute(m._id, m.action);
  }

  private async record(a: ModerationAction): Promise<void> {
    // Keyed by the room when there is one (the room's audit chain), else by the user.
    const event = newEvent('moderation.action', a.room ?? a.target, a.by, { action: a }, this.deps.now());
    try {
      await this.deps.store.moderation.insertAction({
        _id: a.id,
        kind: a.kind,
        target: a.target,
        room: a.room,
        reason: a.reason,
        rule: a.rule,
        by: a.by,
        at: new Date(a.at),
        until: a.until ? new Date(a.until) : null,
        outbox: [event],
      });
    } catch (e) {
      if (e instanceof DuplicateKeyError) return; // recorded concurrently: once is enough
      throw e;
    }
    this.deps.logger.info({ action: a.id, kind: a.kind, target: a.target, room: a.room, rule: a.rule, by: a.by, reason: a.reason }, `moderation ${a.kind} applied`);
  }

  private async authorOf(id: string): Promise<UserView> {
    const u = await this.deps.store.users.findById(id);
    return u ? toUserView(u) : { ...GHOST_USER, id };
  }
}

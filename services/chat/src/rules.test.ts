import { describe, expect, it } from 'vitest';
import { assertAdmin, assertCanDelete, assertCanEdit, assertCanSend, assertNotMuted, canReadRoom, isMuteActive, muteId, replacesMute } from './rules.js';

/** The code of the AppError `fn` throws, or 'none'. */
function codeOf(fn: () => void): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? 'no code';
  }
}

const ann = { id: 'ann', role: 'USER' as const };
const bob = { id: 'bob', role: 'USER' as const };
const admin = { id: 'root', role: 'ADMIN' as const };
const dm = { _id: 'dm-x', kind: 'DIRECT' as const, pair: ['ann', 'bob'] };
const pub = { _id: 'general', kind: 'PUBLIC' as const, pair: [] };

describe('room rules', () => {
  it('lets anyone read a public room and only the pair read a private one', () => {
    expect(canReadRoom(pub, 'carol')).toBe(true);
    expect(canReadRoom(dm, 'ann')).toBe(true);
    expect(canReadRoom(dm, 'bob')).toBe(true);
    expect(canReadRoom(dm, 'carol')).toBe(false);
  });
  it('lets the pair send to their private room, and members send to a public room they joined', () => {
    expect(() => assertCanSend(dm, 'ann', false)).not.toThrow();
    expect(codeOf(() => assertCanSend(dm, 'carol', true))).toBe('FORBIDDEN');
    expect(() => assertCanSend(pub, 'carol', true)).not.toThrow();
    expect(() => assertCanSend(pub, 'carol', false)).toThrow(/join "general"/);
  });
});

describe('message rules', () => {
  const visible = { authorId: 'ann', status: 'VISIBLE' as const };
  it('lets only the author edit, and not once deleted or hidden', () => {
    expect(() => assertCanEdit(visible, ann)).not.toThrow();
    expect(codeOf(() => assertCanEdit(visible, bob))).toBe('FORBIDDEN');
    expect(() => assertCanEdit(visible, admin)).toThrow(/only the author/);
    expect(() => assertCanEdit({ ...visible, status: 'DELETED' }, ann)).toThrow(/deleted/);
    expect(() => assertCanEdit({ ...visible, status: 'HIDDEN' }, ann)).toThrow(/hidden/);
  });
  it('lets the author or an admin delete, nobody else', () => {
    expect(() => assertCanDelete(visible, ann)).not.toThrow();
    expect(() => assertCanDelete(visible, admin)).not.toThrow();
    expect(codeOf(() => assertCanDelete(visible, bob))).toBe('FORBIDDEN');
  });
});

describe('moderation rules', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const later = (min: number) => new Date(now.getTime() + min * 60_000);
  const messageOf = (fn: () => void) => {
    try {
      fn();
      return 'none';
    } catch (e) {
      return `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
  };

  it('lets only admins moderate', () => {
    expect(codeOf(() => assertAdmin(admin))).toBe('none');
    expect(codeOf(() => assertAdmin(ann))).toBe('FORBIDDEN');
  });

  it('names mutes by user and scope', () => {
    expect(muteId('ann', 'general')).toBe('ann/general');
    expect(muteId('ann', null)).toBe('ann/*');
  });

  it('refuses a muted sender with the end time, and never for an expired mute', () => {
    expect(messageOf(() => assertNotMuted([], now))).toBe('none');
    expect(messageOf(() => assertNotMuted([{ room: 'general', until: later(10), reason: 'flooding' }], now))).toBe(
      'FORBIDDEN: you are muted in this room until 2026-01-01T00:10:00.000Z: flooding',
    );
    expect(messageOf(() => assertNotMuted([{ room: 'general', until: now, reason: 'old' }], now))).toBe('none');
    expect(isMuteActive({ until: later(-1) }, now)).toBe(false);
    expect(messageOf(() => assertNotMuted([{ room: null, until: null, reason: 'spam' }], now))).toBe(
      'FORBIDDEN: you are muted everywhere until an admin lifts it: spam',
    );
    // Of two mutes in force, the longer one is reported.
    expect(
      messageOf(() =>
        assertNotMuted(
          [
            { room: 'general', until: later(5), reason: 'short' },
            { room: null, until: later(60), reason: 'long' },
          ],
          now,
        ),
      ),
    ).toMatch(/everywhere until 2026-01-01T01:00:00.000Z: long$/);
  });

  it('lets a rule lengthen a mute but never shorten it; an admin decides either way', () => {
    const current = { until: later(10) };
    expect(replacesMute(null, { until: later(1), by: null }, now)).toBe(true);
    expect(replacesMute(current, { until: later(5), by: null }, now)).toBe(false);
    expect(replacesMute(current, { until: later(20), by: null }, now)).toBe(true);
    expect(replacesMute(current, { until: later(1), by: 'root' }, now)).toBe(true);
    expect(replacesMute({ until: null }, { until: later(600), by: null }, now)).toBe(false);
    expect(replacesMute({ until: later(-1) }, { until: later(1), by: null }, now)).toBe(true);
    expect(replacesMute(current, { until: null, by: null }, now)).toBe(true);
  });
});

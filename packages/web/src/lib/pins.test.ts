import { describe, expect, it } from 'vitest';
import type { ChatMessage, MessageStatus } from './messages.js';
import {
  PinRequests,
  PinnedList,
  canPin,
  listed,
  pinnable,
  pinnedLabel,
  type PinAsker,
} from './pins.js';

const msg = (
  id: string,
  pinned: boolean | undefined,
  status: MessageStatus = 'VISIBLE',
  body = `body of ${id}`,
): ChatMessage => ({
  id,
  room: 'r',
  seq: Number(id.replace(/\D/g, '')) || 1,
  body,
  status,
  clientMsgId: `c-${id}`,
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  author: { id: 'u1', username: 'ann', displayName: 'Ann' },
  ...(pinned === undefined ? {} : { pinned }),
});
const ids = (l: PinnedList) => l.items.map((m) => m.id);

describe('canPin', () => {
  const ask = (p: Partial<PinAsker>): PinAsker => ({
    kind: 'GROUP',
    myRole: null,
    siteRole: 'USER',
    member: true,
    ...p,
  });
  it('mirrors the server: a group’s OWNER or ADMIN, a site ADMIN in public rooms, either person of a direct room', () => {
    expect(canPin(ask({ kind: 'GROUP', myRole: 'OWNER' }))).toBe(true);
    expect(canPin(ask({ kind: 'GROUP', myRole: 'ADMIN' }))).toBe(true);
    expect(canPin(ask({ kind: 'GROUP', myRole: 'MEMBER' }))).toBe(false);
    // A site admin is no one special in a group (not a member: FORBIDDEN there too).
    expect(canPin(ask({ kind: 'GROUP', myRole: null, siteRole: 'ADMIN', member: false }))).toBe(
      false,
    );
    expect(canPin(ask({ kind: 'GROUP', myRole: 'MEMBER', siteRole: 'ADMIN' }))).toBe(false);
    expect(canPin(ask({ kind: 'PUBLIC', siteRole: 'USER' }))).toBe(false);
    expect(canPin(ask({ kind: 'PUBLIC', siteRole: 'ADMIN', member: false }))).toBe(true);
    expect(canPin(ask({ kind: 'PUBLIC', siteRole: null }))).toBe(false);
    expect(canPin(ask({ kind: 'DIRECT', member: true }))).toBe(true);
    expect(canPin(ask({ kind: 'DIRECT', member: false }))).toBe(false);
  });
  it('pins only what is VISIBLE, and counts in the label', () => {
    expect(pinnable(msg('m1', false))).toBe(true);
    expect(pinnable(msg('m1', false, 'HIDDEN'))).toBe(false);
    expect(pinnable(msg('m1', false, 'DELETED'))).toBe(false);
    expect(pinnedLabel(0)).toBe('Pinned (0)');
    expect(pinnedLabel(50)).toBe('Pinned (50)');
  });
});

describe('listed', () => {
  it('as pinnedMessages lists: pinned and VISIBLE; HIDDEN for site admins only; never DELETED', () => {
    expect(listed(msg('m1', true), false)).toBe(true);
    expect(listed(msg('m1', false), true)).toBe(false);
    expect(listed(msg('m1', undefined), true)).toBe(false);
    expect(listed(msg('m1', true, 'HIDDEN'), false)).toBe(false);
    expect(listed(msg('m1', true, 'HIDDEN'), true)).toBe(true);
    expect(listed(msg('m1', true, 'DELETED'), true)).toBe(false);
  });
});

describe('PinnedList', () => {
  it('takes the server’s order, puts a new pin first, removes an unpin, replaces an edit in place', () => {
    const l = new PinnedList(() => false);
    l.reset([msg('m3', true), msg('m1', true)]);
    expect(ids(l)).toEqual(['m3', 'm1']);
    expect(l.apply(msg('m2', true), msg('m2', false))).toBe('added');
    expect(ids(l)).toEqual(['m2', 'm3', 'm1']);
    expect(l.size).toBe(3);
    expect(l.apply(msg('m1', true, 'VISIBLE', 'edited'))).toBe('updated');
    expect(ids(l)).toEqual(['m2', 'm3', 'm1']);
    expect(l.items[2]!.body).toBe('edited');
    expect(l.apply(msg('m3', false))).toBe('removed');
    expect(ids(l)).toEqual(['m2', 'm1']);
    expect(l.has('m3')).toBe(false);
    // Updates of messages that are not pinned (a reaction, an edit) change nothing.
    expect(l.apply(msg('m9', false))).toBe('none');
    expect(l.apply(msg('m9', undefined))).toBe('none');
    expect(ids(l)).toEqual(['m2', 'm1']);
  });

  it('a pinned message from a page without the field counts as pinned; not-listed ones are left out', () => {
    const l = new PinnedList(() => false);
    l.reset([msg('m2', undefined), msg('m1', true, 'HIDDEN')]);
    expect(ids(l)).toEqual(['m2']);
    expect(l.items[0]!.pinned).toBe(true);
  });

  it('drops a pinned message that is deleted or hidden, and asks for the list again when it comes back', () => {
    const l = new PinnedList(() => false);
    l.reset([msg('m3', true), msg('m2', true), msg('m1', true)]);
    expect(l.apply(msg('m2', true, 'HIDDEN'))).toBe('removed');
    expect(ids(l)).toEqual(['m3', 'm1']);
    // Unhidden, still pinned: its old pin's place is the server's to say.
    expect(l.apply(msg('m2', true))).toBe('reread');
    expect(ids(l)).toEqual(['m3', 'm1']);
    // Known pinned from the reader's copy (hidden before the list was read): the same.
    expect(l.apply(msg('m5', true), msg('m5', true, 'HIDDEN'))).toBe('reread');
    expect(l.apply(msg('m1', true, 'DELETED'))).toBe('removed');
    expect(ids(l)).toEqual(['m3']);
    // Unpinned while left out: it comes back, if ever, as a new pin.
    expect(l.apply(msg('m4', true, 'HIDDEN'))).toBe('none');
    expect(l.apply(msg('m4', false, 'HIDDEN'))).toBe('none');
    expect(l.apply(msg('m4', true))).toBe('added');
    expect(ids(l)).toEqual(['m4', 'm3']);
  });

  it('keeps a hidden pin listed for a site admin', () => {
    const l = new PinnedList(() => true);
    l.reset([msg('m2', true, 'HIDDEN'), msg('m1', true)]);
    expect(ids(l)).toEqual(['m2', 'm1']);
    expect(l.apply(msg('m1', true, 'HIDDEN'))).toBe('updated');
    expect(l.apply(msg('m1', true, 'DELETED'))).toBe('removed');
    expect(ids(l)).toEqual(['m2']);
  });

  it('applies the updates that came while a read was on the way over its (older) answer', () => {
    const l = new PinnedList(() => false);
    l.reset([msg('m1', true)]);
    const t = l.startRead();
    // While the read is out: m2 pinned, m1 unpinned, m3 pinned and unpinned again.
    l.apply(msg('m2', true), msg('m2', false));
    l.apply(msg('m1', false));
    l.apply(msg('m3', true));
    l.apply(msg('m3', false));
    expect(ids(l)).toEqual(['m2']);
    // The answer was read before all of it: m1 still pinned, m4 pinned meanwhile by someone.
    expect(l.reset([msg('m4', true), msg('m1', true)], t)).toBe(true);
    expect(ids(l)).toEqual(['m2', 'm4']);
    // Nothing held any more: a later read starts clean.
    const t2 = l.startRead();
    expect(l.reset([msg('m2', true), msg('m4', true)], t2)).toBe(true);
    expect(ids(l)).toEqual(['m2', 'm4']);
  });

  it('ignores the answer of a read that a later one replaced, and forgets a failed read', () => {
    const l = new PinnedList(() => false);
    const first = l.startRead();
    const second = l.startRead();
    expect(l.reset([msg('m1', true)], first)).toBe(false);
    expect(ids(l)).toEqual([]);
    expect(l.reset([msg('m2', true)], second)).toBe(true);
    expect(ids(l)).toEqual(['m2']);
    const failed = l.startRead();
    l.apply(msg('m3', true));
    l.readFailed(failed);
    expect(l.reset([msg('m2', true)], failed)).toBe(false);
    expect(ids(l)).toEqual(['m3', 'm2']);
  });
});

describe('PinRequests', () => {
  it('applies an answer only when the stream said nothing about the message since it was sent', () => {
    const r = new PinRequests();
    const a = r.sent('m1');
    expect(r.fresh('m1', a)).toBe(true);
    const b = r.sent('m1');
    r.heard('m1');
    expect(r.fresh('m1', b)).toBe(false);
    r.heard('m2');
    const c = r.sent('m1');
    r.heard('m2');
    expect(r.fresh('m1', c)).toBe(true);
  });
});

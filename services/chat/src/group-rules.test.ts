import { describe, expect, it } from 'vitest';
import { AppError, type MemberRole } from '@conversa/contracts';
import {
  applyRoleChanges,
  assertCanLeave,
  assertGroupRoom,
  assertManager,
  assertRemovable,
  assertRoomFor,
  hasOneOwner,
  initialMembers,
  roleChanges,
  type GroupMemberState,
} from './group-rules.js';
import { assertCanSend, canReadRoom } from './rules.js';

const m = (user: string, role: MemberRole): GroupMemberState => ({ user, role });
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof AppError ? e.code : 'not an AppError';
  }
};

describe('group rules', () => {
  const owner = m('o', 'OWNER');
  const admin = m('a', 'ADMIN');
  const member = m('x', 'MEMBER');
  const group = [owner, admin, member];

  it('lets only active members read and send in a group', () => {
    const g = { _id: 'g', kind: 'GROUP' as const, pair: [] };
    expect(canReadRoom(g, 'o', true)).toBe(true);
    expect(canReadRoom(g, 'o', false)).toBe(false);
    expect(canReadRoom(g, 'o')).toBe(false);
    expect(code(() => assertCanSend(g, 'o', true))).toBeUndefined();
    expect(code(() => assertCanSend(g, 'o', false))).toBe('FORBIDDEN');
  });

  it('applies only to group rooms; a direct room says nothing to a non-member', () => {
    expect(code(() => assertGroupRoom({ _id: 'g', kind: 'GROUP', pair: [] }, 'o'))).toBeUndefined();
    expect(code(() => assertGroupRoom({ _id: 'general', kind: 'PUBLIC', pair: [] }, 'o'))).toBe('BAD_USER_INPUT');
    expect(code(() => assertGroupRoom({ _id: 'dm', kind: 'DIRECT', pair: ['o', 'p'] }, 'o'))).toBe('BAD_USER_INPUT');
    expect(code(() => assertGroupRoom({ _id: 'dm', kind: 'DIRECT', pair: ['p', 'q'] }, 'o'))).toBe('FORBIDDEN');
  });

  it('lets the OWNER and ADMINs manage members, not MEMBERs or outsiders; nobody removes the OWNER', () => {
    expect(code(() => assertManager(owner))).toBeUndefined();
    expect(code(() => assertManager(admin))).toBeUndefined();
    expect(code(() => assertManager(member))).toBe('FORBIDDEN');
    expect(code(() => assertManager(null))).toBe('FORBIDDEN');
    expect(code(() => assertRemovable(owner))).toBe('FORBIDDEN');
    expect(code(() => assertRemovable(admin))).toBeUndefined();
  });

  it('lets only the OWNER change roles', () => {
    expect(code(() => roleChanges(admin, member, 'ADMIN', 'x'))).toBe('FORBIDDEN');
    expect(code(() => roleChanges(member, admin, 'MEMBER', 'a'))).toBe('FORBIDDEN');
    expect(code(() => roleChanges(null, member, 'ADMIN', 'x'))).toBe('FORBIDDEN');
    expect(code(() => roleChanges(owner, null, 'ADMIN', 'nobody'))).toBe('BAD_USER_INPUT');
    expect(roleChanges(owner, member, 'ADMIN', 'x')).toEqual([{ user: 'x', role: 'ADMIN', previousRole: 'MEMBER' }]);
    expect(roleChanges(owner, admin, 'MEMBER', 'a')).toEqual([{ user: 'a', role: 'MEMBER', previousRole: 'ADMIN' }]);
    expect(roleChanges(owner, admin, 'ADMIN', 'a')).toEqual([]);
  });

  it('keeps exactly one OWNER: handing over makes the caller ADMIN, target first', () => {
    const changes = roleChanges(owner, member, 'OWNER', 'x');
    expect(changes).toEqual([
      { user: 'x', role: 'OWNER', previousRole: 'MEMBER' },
      { user: 'o', role: 'ADMIN', previousRole: 'OWNER' },
    ]);
    const after = applyRoleChanges(group, changes);
    expect(hasOneOwner(after)).toBe(true);
    expect(after).toEqual([m('o', 'ADMIN'), m('a', 'ADMIN'), m('x', 'OWNER')]);
    // Every single change of every role by the OWNER keeps one OWNER.
    for (const target of [admin, member]) {
      for (const role of ['OWNER', 'ADMIN', 'MEMBER'] as const) {
        expect(hasOneOwner(applyRoleChanges(group, roleChanges(owner, target, role, target.user))), `${target.user} → ${role}`).toBe(true);
      }
    }
  });

  it('finishes an interrupted hand-over on retry, and answers a late retry with no change', () => {
    // The target became OWNER, the caller's demotion was not written yet.
    expect(roleChanges(owner, m('x', 'OWNER'), 'OWNER', 'x')).toEqual([{ user: 'o', role: 'ADMIN', previousRole: 'OWNER' }]);
    // Done already: the former owner is ADMIN now.
    expect(roleChanges(m('o', 'ADMIN'), m('x', 'OWNER'), 'OWNER', 'x')).toEqual([]);
    expect(code(() => roleChanges(m('o', 'MEMBER'), m('x', 'OWNER'), 'OWNER', 'x'))).toBe('FORBIDDEN');
  });

  it('does not let the OWNER step down without a successor', () => {
    expect(code(() => roleChanges(owner, owner, 'ADMIN', 'o'))).toBe('BAD_USER_INPUT');
    expect(roleChanges(owner, owner, 'OWNER', 'o')).toEqual([]);
  });

  it('lets anyone but the OWNER leave; the OWNER only as the last member', () => {
    expect(code(() => assertCanLeave(member, 3))).toBeUndefined();
    expect(code(() => assertCanLeave(admin, 3))).toBeUndefined();
    expect(code(() => assertCanLeave(owner, 3))).toBe('CONFLICT');
    expect(code(() => assertCanLeave(owner, 1))).toBeUndefined();
  });

  it('counts the initial members once, without the creator, up to 1,000 people', () => {
    expect(initialMembers('o', ['a', 'b', 'a', 'o'])).toEqual(['a', 'b']);
    const others = Array.from({ length: 999 }, (_, i) => `u${i}`);
    expect(initialMembers('o', others)).toHaveLength(999);
    expect(code(() => initialMembers('o', [...others, 'one-too-many']))).toBe('BAD_USER_INPUT');
    expect(code(() => assertRoomFor(999))).toBeUndefined();
    expect(code(() => assertRoomFor(1_000))).toBe('CONFLICT');
  });
});

import { describe, expect, it } from 'vitest';
import { assertCanDelete, assertCanEdit, assertCanSend, canReadRoom } from './rules.js';

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

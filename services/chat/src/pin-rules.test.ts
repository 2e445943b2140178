import { describe, expect, it } from 'vitest';
import { AppError } from '@conversa/contracts';
import { assertCanPin, assertPinnable, roomFullOfPins } from './pin-rules.js';

const code = (f: () => void): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof AppError ? e.code : 'thrown';
  }
};
const user = { id: 'u1', role: 'USER' as const };
const admin = { id: 'a1', role: 'ADMIN' as const };
const group = { kind: 'GROUP' as const, pair: [] };
const direct = { kind: 'DIRECT' as const, pair: ['u1', 'u2'] };
const pub = { kind: 'PUBLIC' as const, pair: [] };

describe('who may pin', () => {
  it("a group's OWNER and ADMINs; its MEMBERs and outsiders (a site admin too) are FORBIDDEN", () => {
    expect(code(() => assertCanPin(group, user, { user: 'u1', role: 'OWNER' }))).toBe('ok');
    expect(code(() => assertCanPin(group, user, { user: 'u1', role: 'ADMIN' }))).toBe('ok');
    expect(code(() => assertCanPin(group, user, { user: 'u1', role: 'MEMBER' }))).toBe('FORBIDDEN');
    expect(code(() => assertCanPin(group, user, null))).toBe('FORBIDDEN');
    expect(code(() => assertCanPin(group, admin, null))).toBe('FORBIDDEN');
  });

  it('either member of a direct room, nobody else (a site admin included)', () => {
    expect(code(() => assertCanPin(direct, user, null))).toBe('ok');
    expect(code(() => assertCanPin(direct, { id: 'u2', role: 'USER' }, null))).toBe('ok');
    expect(code(() => assertCanPin(direct, { id: 'u3', role: 'USER' }, null))).toBe('FORBIDDEN');
    expect(code(() => assertCanPin(direct, admin, null))).toBe('FORBIDDEN');
  });

  it('a site admin in a public room; anyone else is FORBIDDEN', () => {
    expect(code(() => assertCanPin(pub, admin, null))).toBe('ok');
    expect(code(() => assertCanPin(pub, user, null))).toBe('FORBIDDEN');
  });
});

describe('what may be pinned', () => {
  it('a VISIBLE message only (BAD_USER_INPUT naming id); a full room is CONFLICT', () => {
    expect(code(() => assertPinnable({ status: 'VISIBLE' }))).toBe('ok');
    expect(code(() => assertPinnable({ status: 'HIDDEN' }))).toBe('BAD_USER_INPUT');
    expect(() => assertPinnable({ status: 'DELETED' })).toThrow(/^id: only a VISIBLE message can be pinned/);
    expect(roomFullOfPins(50)).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/50 pinned messages/) });
  });
});

import { describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT } from 'jose';
import { PasswordHasher, TokenService } from './auth.js';

const secret = 'test-secret-0123456789-abcdefghij';

describe('TokenService', () => {
  const tokens = new TokenService(secret, 60);
  it('signs a token that verifies to the same user', async () => {
    const { token, expiresAt } = await tokens.sign({ id: 'u1', username: 'ann', role: 'ADMIN' });
    const p = await tokens.verify(`Bearer ${token}`);
    expect(p).toMatchObject({ id: 'u1', username: 'ann', role: 'ADMIN' });
    expect(p.expiresAt).toBe(expiresAt.getTime());
  });
  it('refuses missing, forged, expired and alg:none tokens with UNAUTHENTICATED', async () => {
    const { token } = await tokens.sign({ id: 'u1', username: 'ann', role: 'USER' });
    const key = new TextEncoder().encode(secret);
    const expired = await new SignJWT({ username: 'ann', role: 'USER' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer('conversa').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key);
    const otherKey = await new SignJWT({ username: 'ann', role: 'ADMIN' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer('conversa').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-0123456789-abcdef'));
    const none = new UnsecuredJWT({ username: 'ann', role: 'ADMIN' }).setSubject('u1').setIssuer('conversa').setExpirationTime('1h').encode();
    const cases: [unknown, RegExp][] = [
      [undefined, /no token/],
      ['', /no token/],
      [`${token.slice(0, -3)}abc`, /invalid/],
      [expired, /expired/],
      [otherKey, /invalid/],
      [none, /invalid/],
    ];
    for (const [bearer, message] of cases) {
      await expect(tokens.verify(bearer)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(message) as unknown });
    }
  });
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();
  it('hashes with argon2id and verifies only the right password', async () => {
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'wrong horse')).toBe(false);
  });
  it('answers false for an unknown user (no hash) after the same work', async () => {
    expect(await hasher.verify(undefined, 'anything')).toBe(false);
  });
});

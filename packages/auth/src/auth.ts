import argon2 from 'argon2';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { unauthenticated, type Role } from '@conversa/contracts';

/** The caller, as the token says. */
export interface Principal {
  id: string;
  username: string;
  role: Role;
  /** Token expiry, epoch ms. */
  expiresAt: number;
}

const ISSUER = 'conversa';
const ALG = 'HS256';

/** Signs and verifies session tokens (HS256 pinned: `alg: none` and others are refused). */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(user: { id: string; username: string; role: Role }): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1_000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ username: user.username, role: user.role })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1_000) };
  }

  /** Verifies a bearer value ("Bearer x" or "x"); throws UNAUTHENTICATED saying why. */
  async verify(bearer: unknown): Promise<Principal> {
    if (typeof bearer !== 'string' || bearer.trim() === '') throw unauthenticated('sign in: no token was sent');
    if (bearer.length > 4_096) throw unauthenticated('sign in: the token is too long');
    const token = bearer.replace(/^Bearer\s+/i, '').trim();
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALG], issuer: ISSUER });
      const role = payload.role === 'ADMIN' ? 'ADMIN' : 'USER';
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || typeof payload.exp !== 'number') {
        throw unauthenticated('sign in: the token is malformed');
      }
      return { id: payload.sub, username: payload.username, role, expiresAt: payload.exp * 1_000 };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthenticated('sign in again: the token has expired');
      if (e instanceof Error && e.name === 'AppError') throw e;
      throw unauthenticated('sign in: the token is invalid');
    }
  }
}

/**
 * argon2id with OWASP's minimum profile: 19 MiB memory, 2 passes, 1 lane (~20 ms here).
 * Hashing happens in the gateway so that passwords never enter the queue.
 */
export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_PARAMS);
  }

  async verify(hash: string | undefined, password: string): Promise<boolean> {
    // Unknown users cost the same time as known ones: no user enumeration by timing.
    this.dummy ??= argon2.hash('conversa-dummy-password', ARGON2_PARAMS);
    const target = hash ?? (await this.dummy);
    try {
      const ok = await argon2.verify(target, password);
      return ok && hash !== undefined;
    } catch {
      return false;
    }
  }
}

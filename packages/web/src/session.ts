import type { Person } from './lib/messages.js';
import type { KeyValueStorage } from './lib/drafts.js';

/** The signed-in person of this tab: token and profile, kept in sessionStorage (per tab, gone when it closes). */
export interface Session {
  token: string;
  expiresAt: string;
  user: Person;
}

const KEY = 'conversa.session';

function isSession(v: unknown): v is Session {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  const u = s.user as Record<string, unknown> | undefined;
  return (
    typeof s.token === 'string' &&
    typeof s.expiresAt === 'string' &&
    typeof u?.id === 'string' &&
    typeof u.displayName === 'string' &&
    typeof u.username === 'string'
  );
}

export class SessionStore {
  constructor(private readonly storage: KeyValueStorage) {}

  /** The stored session, or null when there is none, it is unreadable, or it has expired. */
  load(now = Date.now()): Session | null {
    try {
      const raw = this.storage.getItem(KEY);
      if (!raw) return null;
      const s: unknown = JSON.parse(raw);
      if (!isSession(s)) return null;
      const exp = Date.parse(s.expiresAt);
      return Number.isNaN(exp) || exp > now ? s : null;
    } catch {
      return null;
    }
  }

  save(s: Session): void {
    try {
      this.storage.setItem(KEY, JSON.stringify(s));
    } catch {
      // storage disabled: the session lives until the page reloads
    }
  }

  clear(): void {
    try {
      this.storage.removeItem(KEY);
    } catch {
      // nothing to clear
    }
  }
}

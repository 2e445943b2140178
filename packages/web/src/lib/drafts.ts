/** The part of the Web Storage API the client uses (sessionStorage in the browser, a fake in tests). */
export interface KeyValueStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Unsent text per room, kept in the tab's sessionStorage as it is typed: it survives a reload
 * and an expired session (the person signs in again and finds it in the composer).
 */
export class Drafts {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly prefix = 'conversa.draft.',
  ) {}

  get(room: string): string {
    try {
      return this.storage.getItem(this.prefix + room) ?? '';
    } catch {
      return ''; // storage disabled: drafts are a convenience, never an error
    }
  }

  /** Stores the text; blank text removes the draft. */
  set(room: string, text: string): void {
    try {
      if (text.trim() === '') this.storage.removeItem(this.prefix + room);
      else this.storage.setItem(this.prefix + room, text);
    } catch {
      // quota exceeded or storage disabled: keep going without a draft
    }
  }

  clear(room: string): void {
    this.set(room, '');
  }

  /** Forgets every draft (sign-out). */
  clearAll(): void {
    const keys: string[] = [];
    for (let i = 0; i < this.storage.length; i++) {
      const k = this.storage.key(i);
      if (k?.startsWith(this.prefix)) keys.push(k);
    }
    for (const k of keys) this.storage.removeItem(k);
  }
}

/** A Map-backed KeyValueStorage, for tests and for browsers where sessionStorage is unavailable. */
export class MemoryStorage implements KeyValueStorage {
  readonly #map = new Map<string, string>();
  get length(): number {
    return this.#map.size;
  }
  key(index: number): string | null {
    return [...this.#map.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.#map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#map.set(key, String(value));
  }
  removeItem(key: string): void {
    this.#map.delete(key);
  }
}

import { describe, expect, it } from 'vitest';
import { Drafts, MemoryStorage, type KeyValueStorage } from './drafts.js';

describe('Drafts', () => {
  it('keeps one draft per room and drops blank ones', () => {
    const storage = new MemoryStorage();
    const d = new Drafts(storage);
    d.set('general', 'half a thought');
    d.set('dm-1', 'line one\nline two');
    expect(d.get('general')).toBe('half a thought');
    expect(d.get('dm-1')).toBe('line one\nline two');
    expect(d.get('other')).toBe('');
    d.set('general', '   ');
    expect(d.get('general')).toBe('');
    expect(storage.length).toBe(1);
  });

  it('survives a new Drafts over the same storage (a reload, or signing in again)', () => {
    const storage = new MemoryStorage();
    new Drafts(storage).set('general', 'kept');
    expect(new Drafts(storage).get('general')).toBe('kept');
  });

  it('clears only its own keys on sign-out', () => {
    const storage = new MemoryStorage();
    storage.setItem('conversa.session', 'x');
    const d = new Drafts(storage);
    d.set('a', '1');
    d.set('b', '2');
    d.clearAll();
    expect(d.get('a')).toBe('');
    expect(storage.getItem('conversa.session')).toBe('x');
  });

  it('never throws when storage does', () => {
    const broken: KeyValueStorage = {
      length: 0,
      key: () => null,
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    const d = new Drafts(broken);
    expect(() => d.set('a', 'x')).not.toThrow();
    expect(d.get('a')).toBe('');
  });
});

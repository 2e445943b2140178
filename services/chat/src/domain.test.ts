import { describe, expect, it } from 'vitest';
import { directRoomId, eventFactory, normalizeBody, publicRoomId } from './domain.js';
import { KeyedMutex } from '@conversa/store';
import { DomainEvent } from '@conversa/contracts';

describe('normalizeBody', () => {
  it('trims and keeps the text', () => {
    expect(normalizeBody('  hello \n')).toBe('hello');
  });
  it('refuses an empty body, naming the field', () => {
    expect(() => normalizeBody('  \t ')).toThrow(/body: a message cannot be empty/);
  });
  it('refuses more than 4,000 characters and accepts exactly 4,000', () => {
    expect(normalizeBody('x'.repeat(4_000))).toHaveLength(4_000);
    expect(() => normalizeBody('x'.repeat(4_001))).toThrow(/at most 4000 characters, got 4001/);
  });
});

describe('publicRoomId', () => {
  it('lower-cases, turns spaces into dashes and drops other characters', () => {
    expect(publicRoomId('  General Chat! ')).toBe('general-chat');
    expect(publicRoomId('Café Lobby')).toBe('cafe-lobby');
  });
  it('refuses a name with nothing left', () => {
    expect(() => publicRoomId('!!!')).toThrow(/name: a room name needs/);
  });
  it('refuses a slug over 64 characters', () => {
    expect(publicRoomId('a'.repeat(64))).toHaveLength(64);
    expect(() => publicRoomId('a'.repeat(65))).toThrow(/at most 64/);
  });
});

describe('directRoomId', () => {
  it('is the same whichever user asks and differs per pair', () => {
    expect(directRoomId('u1', 'u2')).toBe(directRoomId('u2', 'u1'));
    expect(directRoomId('u1', 'u2')).not.toBe(directRoomId('u1', 'u3'));
    expect(directRoomId('u1', 'u2')).toMatch(/^dm-[A-Za-z0-9_-]{22}$/);
  });
});

describe('eventFactory', () => {
  it('builds envelopes that the contract accepts', () => {
    const make = eventFactory(() => new Date('2026-01-01T00:00:00Z'), () => '6f1c1a5e-8a36-4a5d-9d37-0d5f7d8b3e11');
    const e = make('room.joined', 'general', 'u1', { room: 'general', user: 'u1' });
    expect(DomainEvent.parse(e)).toEqual(e);
    expect(e.occurredAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('KeyedMutex', () => {
  it('serializes one key and lets other keys run meanwhile', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a1 = m.run('a', async () => {
      await gate;
      order.push('a1');
    });
    const a2 = m.run('a', () => {
      order.push('a2');
      return Promise.resolve();
    });
    await m.run('b', () => {
      order.push('b');
      return Promise.resolve();
    });
    expect(order).toEqual(['b']);
    release();
    await Promise.all([a1, a2]);
    expect(order).toEqual(['b', 'a1', 'a2']);
  });
  it('goes on after a task fails', async () => {
    const m = new KeyedMutex();
    await expect(m.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(m.run('a', () => Promise.resolve(2))).resolves.toBe(2);
  });
});

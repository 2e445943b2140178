import { describe, expect, it } from 'vitest';
import { TypingTracker, describeTyping, reconnectDelay, throttleGate } from './timing.js';

describe('throttleGate', () => {
  it('opens at most once per interval', () => {
    let t = 1_000;
    const gate = throttleGate(2_000, () => t);
    expect(gate()).toBe(true);
    t += 500;
    expect(gate()).toBe(false);
    t += 1_499;
    expect(gate()).toBe(false);
    t += 1;
    expect(gate()).toBe(true);
  });
});

describe('reconnectDelay', () => {
  it('doubles from 0.5 s up to 5 s, plus jitter', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => reconnectDelay(a, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    expect(reconnectDelay(0, () => 1)).toBe(600);
  });
});

describe('TypingTracker', () => {
  it('forgets people after the ttl and when they send', () => {
    const t = new TypingTracker(4_000);
    t.seen('u1', 'Ann', 0);
    t.seen('u2', 'Ben', 1_000);
    expect(t.active(3_999)).toEqual(['Ann', 'Ben']);
    expect(t.active(4_000)).toEqual(['Ben']);
    t.stopped('u2');
    expect(t.active(4_001)).toEqual([]);
  });
});

describe('describeTyping', () => {
  it('reads naturally for any number of people', () => {
    expect(describeTyping([])).toBe('');
    expect(describeTyping(['Ann'])).toBe('Ann is typing…');
    expect(describeTyping(['Ann', 'Ben'])).toBe('Ann and Ben are typing…');
    expect(describeTyping(['Ann', 'Ben', 'Cat'])).toBe('Ann, Ben and Cat are typing…');
    expect(describeTyping(['Ann', 'Ben', 'Cat', 'Dee'])).toBe('Ann, Ben and 2 others are typing…');
  });
});

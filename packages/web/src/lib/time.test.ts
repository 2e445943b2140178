import { describe, expect, it } from 'vitest';
import { formatFullTime, formatMessageTime } from './time.js';

const o = { locale: 'en-GB', timeZone: 'Europe/Berlin' };
const now = new Date('2025-03-12T15:30:00Z'); // 16:30 in Berlin

describe('formatMessageTime', () => {
  it('shows only the time today', () => {
    expect(formatMessageTime('2025-03-12T13:05:00Z', now, o)).toBe('14:05');
  });
  it('uses the local day, not the UTC day', () => {
    // 23:30 UTC on the 11th is 00:30 on the 12th in Berlin: today.
    expect(formatMessageTime('2025-03-11T23:30:00Z', now, o)).toBe('00:30');
  });
  it('says yesterday', () => {
    expect(formatMessageTime('2025-03-11T08:00:00Z', now, o)).toBe('Yesterday 09:00');
  });
  it('adds the date this year, and the year before that', () => {
    expect(formatMessageTime('2025-01-02T08:00:00Z', now, o)).toBe('2 Jan, 09:00');
    expect(formatMessageTime('2024-12-31T08:00:00Z', now, o)).toBe('31 Dec 2024, 09:00');
  });
  it('gives nothing for a bad timestamp', () => {
    expect(formatMessageTime('not a date', now, o)).toBe('');
    expect(formatFullTime('nope', o)).toBe('');
  });
  it('has a full form for tooltips', () => {
    expect(formatFullTime('2025-03-12T13:05:09Z', o)).toContain('12 March 2025');
  });
});

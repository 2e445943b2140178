import { describe, expect, it } from 'vitest';
import { describeSeen, seenBy, type Receipt } from './seen.js';

const person = (name: string) => ({
  id: `u-${name}`,
  username: name.toLowerCase(),
  displayName: name,
});
const receipt = (name: string, lastReadSeq: number, second: number): Receipt => ({
  user: person(name),
  lastReadSeq,
  at: new Date(Date.UTC(2025, 0, 1, 12, 0, second)).toISOString(),
});

describe('seen by', () => {
  it('lists those who read up to the message, the author left out, the latest reader first', () => {
    const receipts = [
      receipt('Ben', 5, 1),
      receipt('Cat', 4, 2),
      receipt('Dee', 6, 3),
      receipt('Ann', 5, 4),
    ];
    expect(seenBy(receipts, 5, 'u-Ann').map((p) => p.displayName)).toEqual(['Dee', 'Ben']);
    expect(seenBy(receipts, 7, 'u-Ann')).toEqual([]);
  });

  it('says it in a sentence', () => {
    expect(describeSeen([])).toBe('');
    expect(describeSeen([person('Ben')])).toBe('Seen by Ben');
    expect(describeSeen([person('Ben'), person('Cat')])).toBe('Seen by Ben and Cat');
    expect(describeSeen(['Ben', 'Cat', 'Dee'].map(person))).toBe('Seen by Ben, Cat and Dee');
    expect(describeSeen(['Ben', 'Cat', 'Dee', 'Eve'].map(person))).toBe(
      'Seen by Ben, Cat and 2 others',
    );
  });
});

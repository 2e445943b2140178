import { describe, expect, it } from 'vitest';
import { decide, serviceRate } from './admission.js';

const opts = { budgetMs: 5_000, minBacklog: 200 };

describe('admission', () => {
  it('admits while the backlog fits what the workers start within the budget', () => {
    expect(decide({ backlog: 0, ratePerSecond: 0 }, 'interactive', opts)).toEqual({ admit: true });
    expect(decide({ backlog: 199, ratePerSecond: 0 }, 'interactive', opts)).toEqual({ admit: true });
    // 120/s × 5 s = 600 jobs
    expect(decide({ backlog: 599, ratePerSecond: 120 }, 'interactive', opts)).toEqual({ admit: true });
  });

  it('refuses beyond it, saying when the backlog will have drained under it', () => {
    expect(decide({ backlog: 600, ratePerSecond: 120 }, 'interactive', opts)).toEqual({ admit: false, retryAfterSeconds: 1 });
    expect(decide({ backlog: 1_200, ratePerSecond: 120 }, 'interactive', opts)).toEqual({ admit: false, retryAfterSeconds: 6 });
    expect(decide({ backlog: 200, ratePerSecond: 0 }, 'interactive', opts)).toEqual({ admit: false, retryAfterSeconds: 1 });
    expect(decide({ backlog: 1e6, ratePerSecond: 10 }, 'interactive', opts)).toEqual({ admit: false, retryAfterSeconds: 30 });
  });

  it('gives bulk commands half the room, so interactive ones keep headroom', () => {
    expect(decide({ backlog: 350, ratePerSecond: 120 }, 'bulk', opts).admit).toBe(false);
    expect(decide({ backlog: 350, ratePerSecond: 120 }, 'interactive', opts).admit).toBe(true);
  });

  it('averages the per-second counts', () => {
    expect(serviceRate([])).toBe(0);
    expect(serviceRate([100, 140, 120])).toBe(120);
  });
});

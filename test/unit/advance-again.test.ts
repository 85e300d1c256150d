/** When a batched project advance runs once more (src/projects/advance.ts advanceAgain). */
import { describe, expect, it } from 'vitest';
import { advanceAgain } from '../../src/projects/advance.js';

describe('advanceAgain', () => {
  it('runs again for a request that arrived in this process during the attempt, whatever the attempt did', () => {
    expect(advanceAgain({ dirty: true, attempt: 'advanced', wantedAfter: false })).toBe(true);
    expect(advanceAgain({ dirty: true, attempt: 'busy', wantedAfter: false })).toBe(true);
  });

  it('a holder runs again for requests it did not take; a runner that did not hold the lock leaves them to the holder', () => {
    expect(advanceAgain({ dirty: false, attempt: 'advanced', wantedAfter: true })).toBe(true);
    expect(advanceAgain({ dirty: false, attempt: 'busy', wantedAfter: true })).toBe(false);
    expect(advanceAgain({ dirty: false, attempt: 'advanced', wantedAfter: false })).toBe(false);
  });
});

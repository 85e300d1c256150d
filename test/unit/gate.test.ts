/** The runner's gate (src/runner/gate.ts): permits in arrival order, and `first` ahead of the line. */
import { describe, expect, it } from 'vitest';
import { Gate } from '../../src/runner/gate.js';

describe('gate', () => {
  it('hands permits out in arrival order; a permit taken back `first` goes ahead of everyone waiting', async () => {
    const gate = new Gate(1);
    await gate.acquire();
    const order: string[] = [];
    const waiters = ['a', 'b', 'c'].map((name) => gate.acquire().then(() => order.push(name)));
    // The holder steps outside (a merge-lock turn) and wants its permit back before a, b and c.
    let stepOutside!: () => void;
    const outside = gate
      .outside(() => new Promise<void>((r) => (stepOutside = r)), { first: true })
      .then(() => order.push('merge'));
    // Its permit went to the first waiter meanwhile.
    await waiters[0];
    expect(order).toEqual(['a']);
    stepOutside();
    await new Promise((r) => setImmediate(r)); // it is back in line for a permit
    gate.release(); // a is done
    await outside;
    expect(order).toEqual(['a', 'merge']);
    gate.release();
    await waiters[1];
    gate.release();
    await waiters[2];
    expect(order).toEqual(['a', 'merge', 'b', 'c']);
  });
});

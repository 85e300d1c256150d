import { describe, expect, it } from 'vitest';
import { decidePhase } from '../../src/queue/phase.js';

const phases = ['bootstrap', 'discovery', 'development', 'qa'];

describe('decidePhase (FR-4.3)', () => {
  it('works in the current phase while it has active tasks', () => {
    expect(decidePhase(phases, 'discovery', { bootstrap: { completed: 1 }, discovery: { running: 1 } })).toEqual({
      kind: 'work',
      phase: 'discovery',
    });
  });

  it('advances past a phase whose tasks are all completed or cancelled, to the next with work', () => {
    expect(
      decidePhase(phases, 'bootstrap', { bootstrap: { completed: 1, cancelled: 1 }, development: { pending: 2 } }),
    ).toEqual({ kind: 'advance', from: 'bootstrap', to: 'development' });
  });

  it('completes when no phase has work left', () => {
    expect(decidePhase(phases, 'qa', { bootstrap: { completed: 1 }, qa: { completed: 3 } })).toEqual({
      kind: 'complete',
      from: 'qa',
    });
    expect(decidePhase(phases, 'bootstrap', {})).toEqual({ kind: 'complete', from: 'bootstrap' });
  });

  it('is stuck on a phase with failed or dead-lettered tasks and nothing left to run', () => {
    expect(decidePhase(phases, 'qa', { qa: { completed: 2, dead_letter: 1 } })).toEqual({
      kind: 'stuck',
      phase: 'qa',
      failed: 1,
    });
  });

  it('finds work in an earlier phase when the current one is no longer enabled', () => {
    expect(decidePhase(['bootstrap', 'qa'], 'development', { bootstrap: { pending: 1 } })).toEqual({
      kind: 'advance',
      from: 'development',
      to: 'bootstrap',
    });
  });
});

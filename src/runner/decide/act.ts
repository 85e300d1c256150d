/** Which Act a task gets, and what the Act step's CLI run leads to. Pure. */
import type { ClaudeOutcome } from '../../claude/accumulate.js';
import { BREAKDOWN_TASK_KEY } from '../../planner/phases/discovery.js';
import type { Outcome } from './outcome.js';
import type { AfterCall } from './provider.js';

/**
 * `breakdown`: the discovery task whose work is the structured work breakdown
 * (asked with --json-schema, validated, the later phases re-planned from it);
 * `edit`: every other task, a free-form edit of the worktree.
 */
export function actKind(task: { key: string; phase: string }): 'breakdown' | 'edit' {
  return task.key === BREAKDOWN_TASK_KEY && task.phase === 'discovery' ? 'breakdown' : 'edit';
}

/**
 * The phases a breakdown asked by a task of `phase` may plan: the enabled
 * ones after it. Its own phase and earlier ones are already under way or done.
 */
export function breakdownPhases<P extends string>(enabled: readonly P[], phase: string): P[] {
  const at = enabled.indexOf(phase as P);
  return at === -1 ? [] : enabled.slice(at + 1);
}

export type ActDecision =
  /** The agent answered (or used up its turns): commit its work and reflect on it. */
  | { kind: 'commit' }
  /** The CLI stopped itself at --max-budget-usd: read the spend to say which cap (budget.ts cliBudgetSpent). */
  | { kind: 'budget_spent' }
  /** The attempt ends here; `unexpected`: a failure worth a warning with the CLI's stderr. */
  | { kind: 'stop'; outcome: Outcome; unexpected: boolean };

/**
 * Provider trouble comes first (it is recorded provider-wide whatever else
 * happened), then the budget, then the CLI's own outcome.
 */
export function decideAct(input: {
  outcome: ClaudeOutcome;
  call: AfterCall;
  retryDelayMs: number;
  now: Date;
}): ActDecision {
  const { outcome: o, call } = input;
  if (call.kind === 'provider_failed') return { kind: 'stop', outcome: call, unexpected: false };
  switch (o.kind) {
    case 'success':
    case 'max_turns':
      return { kind: 'commit' };
    case 'max_budget':
      return { kind: 'budget_spent' };
    case 'auth_failed':
      return parked(o.message, { cause: 'auth', reason: `Claude authentication failed: ${o.message}` });
    case 'billing':
      return parked(o.message, { cause: 'billing', reason: `Claude billing error: ${o.message}` });
    case 'cancelled':
      return { kind: 'stop', outcome: { kind: 'requeue', reason: 'cancelled', runAt: input.now }, unexpected: false };
    default:
      return {
        kind: 'stop',
        outcome: { kind: 'retry', reason: `${o.kind}: ${o.message}`, delayMs: input.retryDelayMs, countAttempt: true },
        unexpected: true,
      };
  }
}

function parked(reason: string, hold: { cause: 'auth' | 'billing'; reason: string }): ActDecision {
  return { kind: 'stop', outcome: { kind: 'park', reason, hold }, unexpected: false };
}

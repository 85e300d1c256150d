/** Budget rules (FR-6): whether a cap is spent, and what is left for the next call. Pure. */
import type { Outcome } from './outcome.js';

interface Caps {
  usd: number | null;
  tokens: number | null;
}

export interface Budget {
  project: Caps;
  phase: Caps;
  task: Caps;
}

/** What the project, the task's phase and the task have spent so far. */
export interface Spend {
  projectUsd: number;
  projectTokens: number;
  phaseUsd: number;
  phaseTokens: number;
  taskUsd: number;
  taskTokens: number;
}

export interface BudgetOverrun {
  scope: 'project' | 'phase' | 'task';
  unit: 'usd' | 'tokens';
  used: number;
  cap: number;
  /** For people: what was spent and which setting to raise. */
  message: string;
}

/** The first cap reached (USD before tokens, project before phase before task), or null. */
export function budgetExceeded(budget: Budget, spend: Spend): BudgetOverrun | null {
  const checks: [BudgetOverrun['scope'], number | null, number, BudgetOverrun['unit']][] = [
    ['project', budget.project.usd, spend.projectUsd, 'usd'],
    ['phase', budget.phase.usd, spend.phaseUsd, 'usd'],
    ['task', budget.task.usd, spend.taskUsd, 'usd'],
    ['project', budget.project.tokens, spend.projectTokens, 'tokens'],
    ['phase', budget.phase.tokens, spend.phaseTokens, 'tokens'],
    ['task', budget.task.tokens, spend.taskTokens, 'tokens'],
  ];
  for (const [scope, cap, used, unit] of checks) {
    if (cap !== null && used >= cap) {
      const fmt = unit === 'usd' ? `$${used.toFixed(2)} of $${cap.toFixed(2)}` : `${used} of ${cap} tokens`;
      const message = `${scope} budget spent (${fmt}); raise budget.${scope}.${unit} in samgita.yaml to continue`;
      return { scope, unit, used, cap, message };
    }
  }
  return null;
}

/** USD left under the tightest cap, for the CLI's --max-budget-usd (at least a cent); undefined when uncapped. */
export function remainingUsd(
  budget: { project: { usd: number | null }; phase: { usd: number | null }; task: { usd: number | null } },
  spend: Spend,
): number | undefined {
  const left = [
    budget.project.usd === null ? Number.POSITIVE_INFINITY : budget.project.usd - spend.projectUsd,
    budget.phase.usd === null ? Number.POSITIVE_INFINITY : budget.phase.usd - spend.phaseUsd,
    budget.task.usd === null ? Number.POSITIVE_INFINITY : budget.task.usd - spend.taskUsd,
  ];
  const min = Math.min(...left);
  return Number.isFinite(min) ? Math.max(0.01, Math.floor(min * 100) / 100) : undefined;
}

/** A spent budget parks the task and holds the project until someone raises it. */
export function budgetHold(why: string): Outcome {
  return { kind: 'park', reason: why, hold: { cause: 'budget', reason: `budget reached: ${why}` } };
}

/** Before a call: stop when a cap is already spent. */
export function budgetStop(budget: Budget, spend: Spend): Outcome | null {
  const over = budgetExceeded(budget, spend);
  return over ? budgetHold(over.message) : null;
}

/** The CLI stopped itself at --max-budget-usd: say which cap, with the spend now recorded. */
export function cliBudgetSpent(over: BudgetOverrun | null, maxBudgetUsd: number | undefined): Outcome {
  return budgetHold(over?.message ?? `the run hit --max-budget-usd ${maxBudgetUsd ?? ''}`.trim());
}

/** Whether a phase budget is set: only then are a phase's sums worth reading. */
export function phaseBudgeted(budget: { phase: { usd: number | null; tokens: number | null } }): boolean {
  return budget.phase.usd !== null || budget.phase.tokens !== null;
}

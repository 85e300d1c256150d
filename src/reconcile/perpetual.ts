import type pg from 'pg';
import { resolveAgentTypes } from '../agents/catalog.js';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import { enabledPhases, planPerpetual } from '../planner/plan.js';
import { parsePrd } from '../prd/parse.js';
import { advanceProjectIn, transitionProjectIn } from '../projects/transition.js';
import { withTransaction } from '../store/connection.js';
import { type Actor, recordEvent, SYSTEM_ACTOR } from '../store/events.js';
import { applyPlanChange } from '../store/plan.js';
import { lockProjectTotals, writePerpetualCycle } from '../store/projects.js';
import { openTaskPhases } from '../store/tasks.js';
import { desiredPlan } from './reconcile.js';

export type PerpetualDecision =
  | { kind: 'proposed'; cycle: number; keys: string[]; enqueued: number }
  | { kind: 'skipped'; reason: 'disabled' | 'not_finished' | 'cycle_in_progress' | 'not_running' | 'no_tasks' }
  | { kind: 'budget_reached'; reason: string };

/** Pure: is the project's spend at or over its project budget? Returns the reason or null. */
export function perpetualBudgetReached(
  budget: SamgitaConfig['budget']['project'] | undefined,
  spend: { usd: number; tokens: number },
): string | null {
  if (budget?.usd != null && spend.usd >= budget.usd)
    return `project budget spent ($${spend.usd.toFixed(2)} of $${budget.usd.toFixed(2)})`;
  if (budget?.tokens != null && spend.tokens >= budget.tokens)
    return `project token budget spent (${spend.tokens} of ${budget.tokens})`;
  return null;
}

/**
 * Perpetual mode (FR-4.4): once every other phase is done, propose the next
 * cycle of improvement tasks ("perpetual/cycle-<n>/<area>", n from the
 * project's counter so keys stay unique), within the project budget, until the
 * project is paused or the budget is reached (then it is paused with the
 * reason). Call it when a project completes (or on a timer); it does nothing
 * while a cycle is still in progress.
 */
export async function proposePerpetualCycle(
  pool: pg.Pool,
  projectId: string,
  actor: Actor = SYSTEM_ACTOR,
): Promise<PerpetualDecision> {
  const decision = await withTransaction(pool, async (db): Promise<PerpetualDecision> => {
    const p = await lockProjectTotals(db, projectId);
    if (!p || !['running', 'completed'].includes(p.status)) return { kind: 'skipped', reason: 'not_running' };
    const config = p.config as unknown as SamgitaConfig;
    if (config.perpetual?.enabled !== true || !enabledPhases(config.phases).includes('perpetual'))
      return { kind: 'skipped', reason: 'disabled' };
    const active = await openTaskPhases(db, projectId);
    if (active.includes('perpetual')) return { kind: 'skipped', reason: 'cycle_in_progress' };
    if (active.length > 0) return { kind: 'skipped', reason: 'not_finished' };
    const over = perpetualBudgetReached(config.budget?.project, { usd: p.cost_usd, tokens: p.tokens });
    if (over) {
      await transitionProjectIn(db, projectId, 'hold', actor, {
        reason: `perpetual mode stopped: ${over}`,
        cause: 'budget',
        data: { mode: 'perpetual' },
      });
      return { kind: 'budget_reached', reason: over };
    }
    const cycle = p.perpetual_cycle + 1;
    const prd = parsePrd(p.prd_content ?? '');
    const catalog = resolveAgentTypes(config.agents);
    const tasks = planPerpetual({ prd, config, catalog, cycle });
    if (tasks.length === 0) return { kind: 'skipped', reason: 'no_tasks' };
    const plan = await desiredPlan(db, projectId, prd, config);
    const applied = await applyPlanChange(
      db,
      projectId,
      { create: tasks, update: [], restart: [], reopen: [], cancel: [] },
      [...plan.tasks, ...tasks],
      actor,
    );
    await writePerpetualCycle(db, projectId, cycle);
    await recordEvent(db, {
      projectId,
      kind: 'project.perpetual_cycle',
      subjectType: 'project',
      subjectId: projectId,
      actor,
      data: { cycle, tasks: applied.created },
    });
    // A completed project reopens; either way the cycle's tasks are queued now (its phase comes next).
    const enqueued =
      p.status === 'completed'
        ? (await transitionProjectIn(db, projectId, 'reopen', actor, { data: { reason: `perpetual cycle ${cycle}` } }))
            .enqueued
        : (await advanceProjectIn(db, projectId, actor)).enqueued;
    return { kind: 'proposed', cycle, keys: applied.created, enqueued };
  });
  return decision;
}

import type pg from 'pg';
import { PHASES, type PhaseName, resolveAgentTypes } from '../agents/catalog.js';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import { type Action, actionsAfterPhase, reconcilePlan, summarizeActions } from '../planner/diff.js';
import { enabledPhases, planProject } from '../planner/plan.js';
import { mergeBreakdown } from '../planner/structured.js';
import { planPrd } from '../planner/thread.js';
import type { Plan, PlannedTask } from '../planner/types.js';
import type { ParsedPrd } from '../prd/types.js';
import { withTransaction } from '../store/connection.js';
import { type Actor, recordEvent } from '../store/events.js';
import { applyPlanChange, type PlanChange, recordedTasks, requirementDiff, upsertRequirements } from '../store/plan.js';
import { lockProject } from '../store/projects.js';
import { latestBreakdown } from './analyze.js';

export interface ReconcileResult {
  plan: Plan;
  actions: Action[];
  /** False on a dry run. */
  applied: boolean;
  summary: ReturnType<typeof summarizeActions>;
  /** Requirement keys relative to what was recorded before this reconcile. */
  requirements: { added: string[]; changed: string[]; removed: string[] };
}

export function toPlanChange(actions: readonly Action[]): PlanChange {
  const change: PlanChange = { create: [], update: [], restart: [], reopen: [], cancel: [] };
  for (const a of actions) {
    if (a.type === 'cancel') change.cancel.push(a.key);
    else change[a.type].push(a.task);
  }
  return change;
}

/**
 * Recorded tasks the PRD does not own: perpetual improvement cycles (the
 * planner plans nothing in the perpetual phase; cycles are proposed later).
 */
function isPerpetualCycleTask(t: { phase: string }): boolean {
  return t.phase === 'perpetual';
}

/**
 * The desired plan: the deterministic plan from the parsed PRD, merged with the
 * newest work breakdown an agent returned for the project (FR-2.1), if any.
 * Reads only.
 */
export async function desiredPlan(
  db: pg.Pool | pg.PoolClient,
  projectId: string | null,
  parsed: ParsedPrd,
  config: SamgitaConfig,
  extraBreakdown?: readonly PlannedTask[],
  /** The deterministic plan when the caller already has it (planned off the event loop). */
  base?: Plan,
): Promise<Plan> {
  const catalog = resolveAgentTypes(config.agents);
  let plan = base ?? planProject({ prd: parsed, config, catalog });
  if (extraBreakdown && extraBreakdown.length > 0) return mergeBreakdown(plan, extraBreakdown);
  if (projectId) {
    const recorded = await latestBreakdown(db, projectId, parsed, catalog, plan.phases);
    if (recorded) {
      plan = { ...plan, warnings: [...plan.warnings, ...recorded.warnings] };
      if (recorded.tasks.length > 0) plan = mergeBreakdown(plan, recorded.tasks);
    }
  }
  return plan;
}

/**
 * Desired state (PRD + config at a revision) against what is recorded → the
 * actions that close the gap, applied in one transaction unless `dryRun`
 * (which reads only). Reconciling the same revision twice yields no actions
 * and no event the second time. The event project.reconciled records which
 * requirements changed and what happened to their tasks (FR-1.5, FR-6.7).
 */
export async function reconcileProject(
  pool: pg.Pool,
  input: {
    projectId: string;
    revisionId: string | null;
    prd: string;
    config: SamgitaConfig;
    dryRun: boolean;
    actor: Actor;
    /** A fresh agent breakdown to merge (else the newest recorded one is used). */
    breakdown?: readonly PlannedTask[] | undefined;
    /** Only phases after this one change (a re-plan from inside a running phase leaves it and earlier ones alone). */
    after?: PhaseName | undefined;
    /** What caused this re-plan, added to the project.reconciled event (e.g. the breakdown task). */
    cause?: Record<string, unknown> | undefined;
  },
): Promise<ReconcileResult> {
  const { parsed, plan: base } = await planPrd(input.prd, input.config);
  const perpetualOn = enabledPhases(input.config.phases).includes('perpetual');
  const compute = async (db: pg.Pool | pg.PoolClient, plan: Plan, removed: string[], changed: string[]) => {
    const actions = reconcilePlan({
      desired: plan,
      recorded: (await recordedTasks(db, input.projectId)).filter((t) => !(perpetualOn && isPerpetualCycleTask(t))),
      removedRequirementKeys: removed,
      changedRequirementKeys: changed,
    });
    return input.after ? actionsAfterPhase(actions, PHASES, input.after) : actions;
  };
  if (input.dryRun || !input.revisionId) {
    const plan = await desiredPlan(pool, input.projectId, parsed, input.config, input.breakdown, base);
    const requirements = await requirementDiff(pool, input.projectId, parsed.requirements);
    const actions = await compute(pool, plan, requirements.removed, requirements.changed);
    return { plan, actions, applied: false, summary: summarizeActions(actions), requirements };
  }
  const revisionId = input.revisionId;
  return withTransaction(pool, async (db) => {
    // Serialise reconciles of one project (a push and an API edit at once).
    await lockProject(db, input.projectId);
    const plan = await desiredPlan(db, input.projectId, parsed, input.config, input.breakdown, base);
    const reqs = await upsertRequirements(db, input.projectId, revisionId, parsed.requirements);
    const actions = await compute(db, plan, reqs.removed, reqs.changed);
    const applied = await applyPlanChange(db, input.projectId, toPlanChange(actions), plan.tasks, input.actor);
    const summary = summarizeActions(actions);
    if (actions.length || reqs.changed.length || reqs.removed.length || reqs.added.length) {
      await recordEvent(db, {
        projectId: input.projectId,
        kind: 'project.reconciled',
        subjectType: 'prd_revision',
        subjectId: revisionId,
        actor: input.actor,
        data: {
          requirements: { added: reqs.added.length, changed: reqs.changed, removed: reqs.removed },
          tasks: {
            created: applied.created.length,
            updated: applied.updated,
            restarted: applied.restarted,
            reopened: applied.reopened,
            cancelled: applied.cancelled,
          },
          summary: summary.text,
          ...(input.cause ? { cause: input.cause } : {}),
        },
      });
    }
    return {
      plan,
      actions,
      applied: true,
      summary,
      requirements: { added: reqs.added, changed: reqs.changed, removed: reqs.removed },
    };
  });
}

import type pg from 'pg';
import { resolveAgentTypes } from '../agents/catalog.js';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import { withTransaction } from '../db/pool.js';
import { type Actor, recordEvent } from '../events/record.js';
import { planProject } from '../planner/plan.js';
import { type Action, type RecordedTask, reconcilePlan, summarizeActions } from '../planner/reconcile.js';
import type { Plan } from '../planner/types.js';
import { parsePrd } from '../prd/parse.js';
import { applyPlanChange, type PlanChange, upsertRequirements } from '../tasks/apply-plan.js';

export interface ReconcileResult {
  plan: Plan;
  actions: Action[];
  /** False on a dry run. */
  applied: boolean;
  summary: ReturnType<typeof summarizeActions>;
}

export async function recordedTasks(db: pg.Pool | pg.PoolClient, projectId: string): Promise<RecordedTask[]> {
  const { rows } = await db.query<{
    key: string;
    status: RecordedTask['status'];
    requirement_key: string | null;
    requirement_hash: string | null;
    phase: string;
    agent_type: string;
    priority: number;
    depends_on: string[];
  }>(
    `select t.key, t.status, r.key as requirement_key, t.requirement_hash, t.phase, t.agent_type, t.priority,
            coalesce(array_agg(dt.key order by dt.key) filter (where dt.key is not null), '{}') as depends_on
       from tasks t
       left join requirements r on r.id = t.requirement_id
       left join task_dependencies d on d.task_id = t.id
       left join tasks dt on dt.id = d.depends_on
      where t.project_id = $1
      group by t.id, r.key`,
    [projectId],
  );
  return rows.map((r) => ({
    key: r.key,
    status: r.status,
    requirementKey: r.requirement_key,
    requirementHash: r.requirement_hash,
    phase: r.phase,
    agentType: r.agent_type,
    dependsOn: r.depends_on,
    priority: r.priority,
  }));
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
 * Desired state (PRD + config at a revision) against what is recorded → the
 * actions that close the gap, applied in one transaction unless `dryRun`.
 * Reconciling the same revision twice yields no actions the second time.
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
  },
): Promise<ReconcileResult> {
  const parsed = parsePrd(input.prd);
  const plan = planProject({ prd: parsed, config: input.config, catalog: resolveAgentTypes(input.config.agents) });
  const compute = async (db: pg.Pool | pg.PoolClient, removed: string[], changed: string[]) =>
    reconcilePlan({
      desired: plan,
      recorded: await recordedTasks(db, input.projectId),
      removedRequirementKeys: removed,
      changedRequirementKeys: changed,
    });
  if (input.dryRun || !input.revisionId) {
    const actions = await compute(pool, [], []);
    return { plan, actions, applied: false, summary: summarizeActions(actions) };
  }
  const revisionId = input.revisionId;
  return withTransaction(pool, async (db) => {
    // Serialise reconciles of one project (a push and an API edit at once).
    await db.query('select id from projects where id = $1 for update', [input.projectId]);
    const reqs = await upsertRequirements(db, input.projectId, revisionId, parsed.requirements);
    const actions = await compute(db, reqs.removed, reqs.changed);
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
        },
      });
    }
    return { plan, actions, applied: true, summary };
  });
}

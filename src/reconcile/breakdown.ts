/**
 * The discovery task's breakdown becomes the plan of the later phases: the
 * validated answer is recorded (prd_analyses), the project's current revision
 * is recorded again refined by it (source 'breakdown', migration 0700), and
 * the project is reconciled to the merged plan — only in the phases after the
 * task's own, so finished and running work of earlier phases (and the task
 * itself) is left alone. The event project.reconciled says what changed and
 * names the task as its cause.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PhaseName } from '../agents/catalog.js';
import { effectiveConfig } from '../config/effective.js';
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';
import type { PlannedTask } from '../planner/types.js';
import { advanceProject } from '../projects/transition.js';
import type { Actor } from '../store/events.js';
import { type CurrentRevision, currentRevision, findAnalysis, recordBreakdownRevision } from '../store/plan.js';
import { type AnalysisResult, storeAnalysis } from './analyze.js';
import { type ReconcileResult, reconcileProject } from './reconcile.js';

export interface Replanned {
  revisionId: string;
  analysisId: string;
  result: ReconcileResult;
  enqueued: number;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The project's current revision and configuration, if `prd` is still its
 * PRD; null when the PRD changed (a breakdown of the old one is not wanted).
 */
export async function currentDesired(
  pool: pg.Pool,
  projectId: string,
  prd: string,
): Promise<{ rev: CurrentRevision; config: SamgitaConfig } | null> {
  const rev = await currentRevision(pool, projectId);
  if (!rev || rev.content_hash !== sha256(prd)) return null;
  // A revision saved without samgita.yaml (an API upload) plans with the project's configuration.
  const config = effectiveConfig(Object.keys(rev.config).length ? rev.config : rev.project_config);
  return { rev, config };
}

/**
 * The breakdown recorded for exactly this revision's PRD + samgita.yaml, if
 * any: `samgita run --analyze` asked before the run, or an earlier attempt of
 * the task asked and stopped before it finished re-planning.
 */
export async function recordedBreakdown(pool: pg.Pool, projectId: string, rev: CurrentRevision) {
  return findAnalysis(pool, projectId, rev.content_hash, rev.config_hash);
}

/** Records a validated breakdown of `rev`; returns its id. */
export async function recordBreakdown(pool: pg.Pool, projectId: string, rev: CurrentRevision, result: AnalysisResult) {
  return storeAnalysis(pool, {
    projectId,
    revisionId: rev.id,
    prdHash: rev.content_hash,
    configHash: rev.config_hash,
    result,
  });
}

/**
 * Re-plans the phases after `task.phase` from recorded breakdown
 * `analysisId` (`tasks`: its validated tasks; omitted, the newest recorded
 * breakdown is merged, re-validated against the PRD).
 */
export async function replanFromBreakdown(
  pool: pg.Pool,
  input: {
    projectId: string;
    desired: { rev: CurrentRevision; config: SamgitaConfig };
    analysisId: string;
    tasks?: readonly PlannedTask[] | undefined;
    /** The task that asked (the event names it as the re-plan's cause). */
    task: { id: string; key: string; phase: PhaseName };
    actor: Actor;
  },
): Promise<Replanned> {
  const { rev, config } = input.desired;
  const revision = await recordBreakdownRevision(pool, input.projectId, rev.id, input.analysisId);
  const result = await reconcileProject(pool, {
    projectId: input.projectId,
    revisionId: revision.id,
    prd: rev.content,
    config,
    dryRun: false,
    actor: input.actor,
    breakdown: input.tasks,
    after: input.task.phase,
    cause: { source: 'breakdown', task_id: input.task.id, task_key: input.task.key, analysis_id: input.analysisId },
  });
  // A running project queues whatever became ready (advanceProject leaves any other status as it is).
  const enqueued = result.actions.length > 0 ? (await advanceProject(pool, input.projectId, input.actor)).enqueued : 0;
  return { revisionId: revision.id, analysisId: input.analysisId, result, enqueued };
}

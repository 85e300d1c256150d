import type pg from 'pg';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import type { PlannedTask } from '../planner/types.js';
import { advanceProject } from '../projects/transition.js';
import type { Actor } from '../store/events.js';
import { recordRevision } from '../store/revisions.js';
import { type ReconcileResult, reconcileProject } from './reconcile.js';

export interface ReplanInput {
  /** The commit the PRD was read from; null/omitted when it came by API upload. */
  commitSha?: string | null | undefined;
  prd: string;
  config: SamgitaConfig;
  /** samgita.yaml text, for the revision's config hash (null: none). */
  configText?: string | null | undefined;
  /** The config hash to record when the text is not at hand (unchanged samgita.yaml); wins over configText. */
  configHash?: string | undefined;
  actor: Actor;
  source?: 'git' | 'api' | 'upload' | 'github' | undefined;
  /** A fresh agent breakdown to merge (see analyzePrd); else the newest recorded one. */
  breakdown?: readonly PlannedTask[] | undefined;
}

export interface ReplanResult extends ReconcileResult {
  revisionId: string;
  /** False when this exact PRD + config at this commit was already recorded. */
  newRevision: boolean;
  /** Tasks queued right away (only while the project is running). */
  enqueued: number;
}

/**
 * A new desired state arrived (push, API upload, `samgita run` on a new
 * commit): record it as a PRD revision and reconcile the project's tasks to it
 * (FR-1.5, FR-6.7). Only tasks of changed requirements are re-planned; tasks of
 * removed requirements are cancelled; the event project.reconciled says what
 * changed. A running project then queues whatever became ready. Idempotent:
 * the same commit twice records nothing and changes nothing.
 */
export async function replanProject(pool: pg.Pool, projectId: string, input: ReplanInput): Promise<ReplanResult> {
  const { revision, created } = await recordRevision(
    pool,
    projectId,
    {
      commitSha: input.commitSha ?? null,
      content: input.prd,
      config: input.config,
      configText: input.configText ?? null,
      ...(input.configHash ? { configHash: input.configHash } : {}),
      source: input.source ?? (input.commitSha ? 'git' : 'api'),
    },
    input.actor,
  );
  const result = await reconcileProject(pool, {
    projectId,
    revisionId: revision.id,
    prd: input.prd,
    config: input.config,
    dryRun: false,
    actor: input.actor,
    breakdown: input.breakdown,
  });
  let enqueued = 0;
  if (result.actions.length > 0) {
    // A running project queues whatever became ready (advanceProject leaves any other status as it is).
    enqueued = (await advanceProject(pool, projectId, input.actor)).enqueued;
  }
  return { ...result, revisionId: revision.id, newRevision: created, enqueued };
}

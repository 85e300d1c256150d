/**
 * Task changes that come from outside a running agent: the project's lifecycle
 * (queue what is ready, hand back, cancel), retries, and pull request events.
 */
import { z } from 'zod';
import { PROJECT_STATUSES, TASK_STATUSES, type TaskStatus } from '../domain/states.js';
import type { JobTask } from '../queue/jobs.js';
import { exec, maybeOne, type Queryable, rows, sql } from './connection.js';
import { type Actor, recordEvent } from './events.js';

const IdRow = z.object({ id: z.string() });
const WantedRow = z.object({ wanted: z.boolean() });
const ProjectIdRow = z.object({ project_id: z.string() });
const PhaseStatusNRow = z.object({ phase: z.string(), status: z.string(), n: z.number() });
const PhaseRow = z.object({ phase: z.string() });
const StatusRow = z.object({ status: z.string() });
const ProjectIdKeyStatusRow = z.object({ project_id: z.string(), key: z.string(), status: z.string() });

/**
 * Task status changes that follow from the project's lifecycle (queueing
 * what is ready, handing back or cancelling open work). Each returns the rows
 * it changed, so the caller can add or remove their jobs in the same transaction.
 */
const JobRow = z.object({ id: z.string(), priority: z.number(), max_attempts: z.number() });
const KeyRow = z.object({ id: z.string(), key: z.string() });

/**
 * Pending or blocked tasks of `phase` whose dependencies are all completed (or
 * cancelled) become queued (FR-3.2). A task parked with a pull request that
 * awaits review or merge is left to the review or the merge.
 */
export async function markReadyTasks(db: Queryable, projectId: string, phase: string): Promise<JobTask[]> {
  return rows(
    db,
    JobRow,
    sql`update tasks t set status = 'queued', queued_at = now(), updated_at = now()
         where t.project_id = ${projectId} and t.phase = ${phase} and t.status in ('pending', 'blocked')
           and not (t.rarv_step = 'done' and t.pr_number is not null)
           and not exists (
             select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
              where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))
        returning t.id, t.priority, t.max_attempts`,
  );
}

/** Pending tasks with an unfinished dependency are shown as blocked. */
export async function markBlockedTasks(db: Queryable, projectId: string): Promise<void> {
  await db.query(
    sql`update tasks t set status = 'blocked', updated_at = now()
         where t.project_id = ${projectId} and t.status = 'pending'
           and exists (
             select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
              where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))`,
  );
}

/** Queued tasks go back to pending (a paused project claims nothing new). */
export async function handBackQueuedTasks(db: Queryable, projectId: string): Promise<string[]> {
  const changed = await rows(
    db,
    IdRow,
    sql`update tasks set status = 'pending', queued_at = null, waiting_for = null, updated_at = now()
         where project_id = ${projectId} and status = 'queued' returning id`,
  );
  return changed.map((r) => r.id);
}

/** Cancels the project's tasks in `statuses`; returns them. */
export async function cancelProjectTasks(
  db: Queryable,
  projectId: string,
  statuses: readonly TaskStatus[],
): Promise<{ id: string; key: string }[]> {
  return rows(
    db,
    KeyRow,
    sql`update tasks set status = 'cancelled', completed_at = coalesce(completed_at, now()), waiting_for = null,
                updated_at = now()
         where project_id = ${projectId} and status = any(${[...statuses]}::text[]) returning id, key`,
  );
}

/**
 * The advance requests of tasks that ended (set by their settle, store/task-attempts.ts)
 * are taken by the advance that will see them: cleared here, before it reads
 * the tasks, inside its transaction (projects/advance.ts says why that loses none).
 */
export async function takeAdvanceRequests(db: Queryable, projectId: string): Promise<number> {
  return exec(db, sql`update tasks set advance_wanted = false where project_id = ${projectId} and advance_wanted`);
}

/** Whether a task of the project asks for an advance nobody has taken yet. */
export async function advanceWanted(db: Queryable, projectId: string): Promise<boolean> {
  const [r] = await rows(
    db,
    WantedRow,
    sql`select exists (select 1 from tasks where project_id = ${projectId} and advance_wanted) as wanted`,
  );
  return r?.wanted ?? false;
}

/** Projects with advance requests left behind (a runner that died between its settle and the advance). */
export async function projectsWantingAdvance(db: Queryable): Promise<string[]> {
  const found = await rows(db, ProjectIdRow, sql`select distinct project_id from tasks where advance_wanted`);
  return found.map((r) => r.project_id);
}

/** Task counts by phase and status, for the phase decision. */
export async function phaseCounts(
  db: Queryable,
  projectId: string,
): Promise<Partial<Record<string, Partial<Record<TaskStatus, number>>>>> {
  const counted = await rows(
    db,
    PhaseStatusNRow,
    sql`select phase, status, count(*)::int as n from tasks where project_id = ${projectId} group by phase, status`,
  );
  const counts: Partial<Record<string, Partial<Record<TaskStatus, number>>>> = {};
  for (const r of counted) {
    const c = counts[r.phase] ?? {};
    c[r.status as TaskStatus] = r.n;
    counts[r.phase] = c;
  }
  return counts;
}

/**
 * Tasks waiting for the provider are due at `runAt` (null: now); with `clear`
 * they stop waiting (the outage is over). Returns them for their jobs to move.
 */
export async function releaseProviderWaiters(
  db: Queryable,
  runAt: Date | null,
  opts: { clear: boolean },
): Promise<JobTask[]> {
  return rows(
    db,
    JobRow,
    sql`update tasks set waiting_for = case when ${opts.clear} then null else waiting_for end,
                         run_after = coalesce(${runAt}::timestamptz, now()), updated_at = now()
         where waiting_for = 'provider' and status = 'queued'
        returning id, priority, max_attempts`,
  );
}

const WaiterRow = z.object({ id: z.string(), agent_type: z.string(), areas: z.unknown() });

/**
 * The tasks of `projectId` waiting out a delay at a concurrency cap or beside
 * a task whose areas they overlap, by priority (the settle decides which to
 * wake, runner/decide/claim.ts tasksToWake).
 */
export async function waitingTasks(
  db: Queryable,
  projectId: string,
): Promise<{ id: string; agentType: string; areas: string[] }[]> {
  const found = await rows(
    db,
    WaiterRow,
    sql`select t.id, t.agent_type, t.payload->'areas' as areas from tasks t
         where t.project_id = ${projectId} and t.status = 'queued' and t.cap_waits > 0 and t.run_after > now()
         order by t.priority, t.queued_at nulls last`,
  );
  return found.map((r) => ({
    id: r.id,
    agentType: r.agent_type,
    areas: Array.isArray(r.areas) ? r.areas.map(String) : [],
  }));
}

/**
 * Waiting tasks `ids` become due now; returned for their jobs to move. Only
 * tasks still waiting out their delay: a job already due may be in a runner's
 * hands, and moving it would make a second job (which the claim would drop).
 */
export async function wakeWaitingTasks(db: Queryable, ids: readonly string[]): Promise<JobTask[]> {
  if (ids.length === 0) return [];
  return rows(
    db,
    JobRow,
    sql`with waiting as (
          select t.id from tasks t
           where t.id = any(${[...ids]}::uuid[]) and t.status = 'queued' and t.cap_waits > 0 and t.run_after > now()
           for update skip locked)
        update tasks t set run_after = now(), updated_at = now() from waiting w where t.id = w.id
        returning t.id, t.priority, t.max_attempts`,
  );
}

/** Phases that still have unfinished (or failed, retryable) tasks. */
export async function openTaskPhases(db: Queryable, projectId: string): Promise<string[]> {
  const found = await rows(
    db,
    PhaseRow,
    sql`select distinct phase from tasks
         where project_id = ${projectId} and status in ('pending', 'blocked', 'queued', 'running', 'failed', 'dead_letter')`,
  );
  return found.map((r) => r.phase);
}

/** The task record's side of a retry. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const Found = z.object({
  id: z.string(),
  key: z.string(),
  project_id: z.string(),
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  priority: z.number(),
  max_attempts: z.number(),
  project_status: z.enum(PROJECT_STATUSES),
});
export type FoundTask = z.output<typeof Found>;

/** The tasks `ref` names (an id, or a key, within `projectId` when given), locked. */
export async function lockTasksByRef(db: Queryable, ref: string, projectId: string | null): Promise<FoundTask[]> {
  const match = UUID.test(ref) ? sql`t.id = ${ref}::uuid` : sql`t.key = ${ref}`;
  return rows(
    db,
    Found,
    sql`select t.id, t.key, t.project_id, t.status, t.attempts, t.priority, t.max_attempts, p.status as project_status
          from tasks t join projects p on p.id = t.project_id
         where ${match} and (${projectId}::uuid is null or t.project_id = ${projectId}::uuid)
         for update of t`,
  );
}

/**
 * Back to pending with its attempts reset and its RARV loop started over; the
 * branch and the continuity log are kept, so the next agent starts from the
 * last checkpoint commit and knows what went wrong.
 */
export async function resetTaskForRetry(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = 0, error = null, completed_at = null, started_at = null,
               queued_at = null, run_after = null, cap_waits = 0, waiting_for = null, rarv_step = null, rarv_loop = 0,
               checkpoint = checkpoint - 'escalations' - 'verify', updated_at = now()
         where id = ${taskId}`,
  );
}

export async function taskStatus(db: Queryable, taskId: string): Promise<string | null> {
  const [r] = await rows(db, StatusRow, sql`select status from tasks where id = ${taskId}`);
  return r?.status ?? null;
}

/**
 * The tasks record's side of pull requests: finding a PR's task, recording
 * the PR, and what review, merge and close do to the task. Events are
 * recorded in the caller's transaction with the change.
 */
const PrTaskRow = z.object({
  id: z.string(),
  project_id: z.string(),
  key: z.string(),
  status: z.enum(TASK_STATUSES),
  pr_number: z.number().nullable(),
  branch: z.string().nullable(),
});
export type PrTask = z.output<typeof PrTaskRow>;

/** The task a pull request belongs to: by PR number, else by its head branch. */
export async function findTaskForPull(
  db: Queryable,
  projectId: string,
  pr: { number: number; headRef: string },
): Promise<PrTask | null> {
  return maybeOne(
    db,
    PrTaskRow,
    sql`select id, project_id, key, status, pr_number, branch from tasks
         where project_id = ${projectId} and (pr_number = ${pr.number} or branch = ${pr.headRef})
         order by (pr_number = ${pr.number}) desc nulls last limit 1`,
  );
}

/** Tasks whose pull request is open and waits to be merged by people (merge queue state `waiting`). */
export async function tasksWaitingOnPulls(db: Queryable, projectId: string): Promise<PrTask[]> {
  return rows(
    db,
    PrTaskRow,
    sql`select id, project_id, key, status, pr_number, branch from tasks
         where project_id = ${projectId} and status = 'pending' and pr_number is not null and merge_state = 'waiting'
         order by pr_number`,
  );
}

/**
 * A waiting pull request that no longer merges goes back to the merge queue
 * (rarv step `integrate`), which brings the branch up to the new base or
 * sends the conflict to its agent. False when the task is no longer waiting.
 */
export async function returnToMergeQueue(db: Queryable, task: PrTask, note: string, actor: Actor): Promise<boolean> {
  const n = await exec(
    db,
    sql`update tasks set rarv_step = 'integrate', merge_state = 'sent_back', merge_note = ${note},
               error = null, updated_at = now()
         where id = ${task.id} and status = 'pending' and merge_state = 'waiting'`,
  );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.sent_back',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, reason: 'conflict', files: [], note, pr_number: task.pr_number },
  });
  return true;
}

/** The task's status, locked until the transaction ends. */
export async function lockTaskStatus(db: Queryable, taskId: string): Promise<string | null> {
  const r = await maybeOne(db, StatusRow, sql`select status from tasks where id = ${taskId} for update`);
  return r?.status ?? null;
}

/**
 * Review feedback goes back to the agent: appended to payload.reviewFeedback
 * (the Reason step reads it as continuity) and the task reopened so the next
 * RARV loop pushes fix commits to the same branch.
 */
export async function appendReviewFeedback(db: Queryable, task: PrTask, feedback: string, actor: Actor): Promise<void> {
  await exec(
    db,
    sql`update tasks set payload = jsonb_set(payload, '{reviewFeedback}',
               coalesce(payload->'reviewFeedback', '[]'::jsonb) || to_jsonb(${feedback}::text)),
             status = case when status in ('failed', 'dead_letter', 'pending') then 'pending' else status end,
             rarv_step = case when status in ('queued', 'running') then rarv_step else 'reason' end,
             attempts = case when status in ('failed', 'dead_letter') then 0 else attempts end,
             error = null, completed_at = null, updated_at = now()
         where id = ${task.id}`,
  );
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.review_feedback',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, feedback: feedback.slice(0, 2000) },
  });
}

/** A merged pull request completes its task. False when it had already ended. */
export async function completeMergedTask(
  db: Queryable,
  task: PrTask,
  mergeSha: string | null,
  actor: Actor,
): Promise<boolean> {
  const n = await exec(
    db,
    sql`update tasks set status = 'completed', completed_at = now(), error = null, rarv_step = 'done',
             result = coalesce(result, '{}'::jsonb) || jsonb_build_object('branch', branch, 'merged', true,
                      'merge_commit', ${mergeSha}::text, 'pr_number', pr_number, 'verify', checkpoint->'verify'),
             duration_ms = coalesce(duration_ms, (extract(epoch from now() - started_at) * 1000)::bigint),
             merge_state = 'merged', merge_note = ${mergeSha ? `merged on GitHub as ${mergeSha.slice(0, 12)}` : 'merged on GitHub'},
             integrated_sha = coalesce(${mergeSha}::text, integrated_sha), updated_at = now()
         where id = ${task.id} and status not in ('completed', 'cancelled')`,
  );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.integrated',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, commit: mergeSha, merged: true, pr_number: task.pr_number },
  });
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.completed',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, merged: true, merge_commit: mergeSha },
  });
  return true;
}

/** A pull request closed without merging cancels its task. False when it had already ended. */
export async function cancelClosedTask(db: Queryable, task: PrTask, actor: Actor): Promise<boolean> {
  const n = await exec(
    db,
    sql`update tasks set status = 'cancelled', updated_at = now()
         where id = ${task.id} and status not in ('completed', 'cancelled')`,
  );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.cancelled',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, reason: 'pull request closed without merging' },
  });
  return true;
}

/**
 * A publish deferred while GitHub was unreachable went through: the PR is
 * recorded, and the task completes unless the PR awaits review or merge.
 */
export async function completeDeferredPublish(
  db: Queryable,
  taskId: string,
  pr: { prNumber: number; prUrl: string; awaitingMerge: boolean },
  actor: Actor,
): Promise<void> {
  const [t] = await rows(
    db,
    ProjectIdKeyStatusRow,
    sql`update tasks set pr_number = ${pr.prNumber}, pr_url = ${pr.prUrl}, payload = payload - 'github',
             status = case when ${pr.awaitingMerge}::boolean then status else 'completed' end,
             completed_at = case when ${pr.awaitingMerge}::boolean then completed_at else now() end,
             updated_at = now()
         where id = ${taskId} returning project_id, key, status`,
  );
  if (t && t.status === 'completed')
    await recordEvent(db, {
      projectId: t.project_id,
      kind: 'task.completed',
      subjectType: 'task',
      subjectId: taskId,
      actor,
      data: { key: t.key, pr_number: pr.prNumber, published_late: true },
    });
}

/**
 * A task whose pull request an earlier job already opened (a re-run with a
 * fresh database): it takes the pull request back instead of running again.
 * An open one parks the task waiting for review; a merged one completes it.
 * Only tasks that have not started are adopted. True when the task changed.
 */
export async function adoptPullRequest(
  db: Queryable,
  projectId: string,
  taskId: string,
  pr: { number: number; url: string; branch: string; headSha: string; merged: boolean; mergeSha: string | null },
  actor: Actor,
): Promise<boolean> {
  const n = pr.merged
    ? await exec(
        db,
        sql`update tasks set status = 'completed', completed_at = now(), rarv_step = 'done', error = null,
                 pr_number = ${pr.number}, pr_url = ${pr.url}, branch = ${pr.branch},
                 result = coalesce(result, '{}'::jsonb) || jsonb_build_object('branch', ${pr.branch}::text, 'merged', true,
                          'merge_commit', ${pr.mergeSha}::text, 'pr_number', ${pr.number}::int, 'adopted', true),
                 merge_state = 'merged', merge_note = 'merged on GitHub before this run',
                 integrated_sha = coalesce(${pr.mergeSha}::text, integrated_sha), updated_at = now()
           where id = ${taskId} and status in ('pending', 'blocked') and started_at is null`,
      )
    : await exec(
        db,
        sql`update tasks set status = 'pending', rarv_step = 'done', pr_number = ${pr.number}, pr_url = ${pr.url},
                 branch = ${pr.branch}, merge_state = 'waiting', merge_note = ${`waiting for review of ${pr.url} (opened by an earlier run)`},
                 updated_at = now()
           where id = ${taskId} and status in ('pending', 'blocked') and started_at is null`,
      );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId,
    kind: 'github.pr_adopted',
    subjectType: 'task',
    subjectId: taskId,
    actor,
    data: { pr_number: pr.number, pr_url: pr.url, branch: pr.branch, head: pr.headSha, merged: pr.merged },
  });
  return true;
}

/**
 * The GitHub App's records: processed webhook deliveries, the repository each
 * project is linked to, the check run per phase and the dashboard issue it
 * keeps up to date, and the publish state of tasks while GitHub is unreachable.
 */
import { z } from 'zod';
import type { Queryable } from './connection.js';
import { exec, maybeOne, rows, sql } from './connection.js';

const StatusRow = z.object({ status: z.enum(['pending', 'done']) });
const CommitShaRow = z.object({ commit_sha: z.string().nullable() });
const PhaseStatusNMoreRow = z.object({ phase: z.string(), status: z.string(), n: z.number(), cost: z.number() });
const CheckRunIdSummaryHashRow = z.object({ check_run_id: z.number(), summary_hash: z.string().nullable() });
const IssueNumberBodyHashRow = z.object({ issue_number: z.number(), body_hash: z.string().nullable() });
const IdInputRow = z.object({ id: z.string(), input: z.unknown() });

// ---------------------------------------------------------------------------
// Deliveries (X-GitHub-Delivery)
// ---------------------------------------------------------------------------

/** What accepting a delivery found: a new one, one still being worked on, or one already handled. */
export type DeliveryState = 'new' | 'pending' | 'done';

/**
 * Records a verified webhook delivery with its payload. A delivery id seen
 * before keeps its row: `done` means a redelivery is a duplicate, `pending`
 * that its work has not finished (a crash, GitHub unreachable) and must go on.
 */
export async function acceptDelivery(
  db: Queryable,
  d: { id: string; event: string; action: string | null; payload: string },
): Promise<DeliveryState> {
  const inserted = await exec(
    db,
    sql`insert into github_deliveries (delivery_id, event, action, payload, status)
        values (${d.id}, ${d.event}, ${d.action}, ${d.payload}, 'pending')
        on conflict (delivery_id) do nothing`,
  );
  if (inserted > 0) return 'new';
  const row = await maybeOne(db, StatusRow, sql`select status from github_deliveries where delivery_id = ${d.id}`);
  return row?.status ?? 'new';
}

const DeliveryRow = z.object({
  delivery_id: z.string(),
  event: z.string(),
  payload: z.string().nullable(),
  status: z.enum(['pending', 'done']),
  attempts: z.number(),
});
export type StoredDelivery = z.output<typeof DeliveryRow>;

/** A pending delivery, its attempt counted; null when it is done or unknown. */
export async function startDeliveryAttempt(db: Queryable, id: string): Promise<StoredDelivery | null> {
  return maybeOne(
    db,
    DeliveryRow,
    sql`update github_deliveries set attempts = attempts + 1
        where delivery_id = ${id} and status = 'pending'
        returning delivery_id, event, payload, status, attempts`,
  );
}

/** The delivery's work is done: the payload is dropped (it was only kept to redo the work). */
export async function finishDelivery(db: Queryable, id: string): Promise<void> {
  await exec(
    db,
    sql`update github_deliveries set status = 'done', payload = null, last_error = null, finished_at = now()
        where delivery_id = ${id}`,
  );
}

export async function recordDeliveryError(db: Queryable, id: string, error: string): Promise<void> {
  await exec(db, sql`update github_deliveries set last_error = ${error.slice(0, 2000)} where delivery_id = ${id}`);
}

// ---------------------------------------------------------------------------
// Projects linked to repositories
// ---------------------------------------------------------------------------

const GitHubProjectRow = z.object({
  id: z.string(),
  name: z.string(),
  git_url: z.string(),
  working_path: z.string().nullable(),
  default_branch: z.string().nullable(),
  github_repo: z.string(),
  github_installation_id: z.number(),
  status: z.string(),
  phase: z.string(),
  current_revision_id: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  cost_usd: z.number(),
});
export type GitHubProject = z.output<typeof GitHubProjectRow>;

const COLUMNS = sql`id, name, git_url, working_path, default_branch, github_repo, github_installation_id, status, phase,
  current_revision_id, config, cost_usd::float8 as cost_usd`;

export async function findProjectByRepo(db: Queryable, fullName: string): Promise<GitHubProject | null> {
  return maybeOne(
    db,
    GitHubProjectRow,
    sql`select ${COLUMNS} from projects where source = 'github' and lower(github_repo) = lower(${fullName})
         order by (status = 'archived'), inserted_at desc limit 1`,
  );
}

export async function findProjectById(db: Queryable, id: string): Promise<GitHubProject | null> {
  return maybeOne(db, GitHubProjectRow, sql`select ${COLUMNS} from projects where id = ${id} and source = 'github'`);
}

/** The commit of the project's current desired state, if it came from git. */
export async function currentRevisionCommit(db: Queryable, revisionId: string | null): Promise<string | null> {
  if (!revisionId) return null;
  const r = await maybeOne(db, CommitShaRow, sql`select commit_sha from prd_revisions where id = ${revisionId}`);
  return r?.commit_sha ?? null;
}

// ---------------------------------------------------------------------------
// Progress shown in GitHub: a check run per phase, one dashboard issue
// ---------------------------------------------------------------------------

export interface PhaseRow {
  phase: string;
  status: string;
  n: number;
  cost: number;
}

export async function phaseRows(db: Queryable, projectId: string): Promise<PhaseRow[]> {
  return rows(
    db,
    PhaseStatusNMoreRow,
    sql`select phase, status, count(*)::int as n, coalesce(sum(cost_usd), 0)::float8 as cost
          from tasks where project_id = ${projectId} group by phase, status`,
  );
}

export async function findCheckRun(
  db: Queryable,
  key: { projectId: string; headSha: string; phase: string },
): Promise<{ check_run_id: number; summary_hash: string | null } | null> {
  return maybeOne(
    db,
    CheckRunIdSummaryHashRow,
    sql`select check_run_id, summary_hash from github_check_runs
         where project_id = ${key.projectId} and head_sha = ${key.headSha} and phase = ${key.phase}`,
  );
}

export async function saveCheckRun(
  db: Queryable,
  key: { projectId: string; headSha: string; phase: string },
  run: { checkRunId?: number; status: string; conclusion: string | null; summaryHash: string },
): Promise<void> {
  if (run.checkRunId !== undefined) {
    await exec(
      db,
      sql`insert into github_check_runs (project_id, head_sha, phase, check_run_id, status, conclusion, summary_hash)
          values (${key.projectId}, ${key.headSha}, ${key.phase}, ${run.checkRunId}, ${run.status}, ${run.conclusion},
                  ${run.summaryHash})
          on conflict (project_id, head_sha, phase) do nothing`,
    );
    return;
  }
  await exec(
    db,
    sql`update github_check_runs set status = ${run.status}, conclusion = ${run.conclusion},
               summary_hash = ${run.summaryHash}, updated_at = now()
         where project_id = ${key.projectId} and head_sha = ${key.headSha} and phase = ${key.phase}`,
  );
}

export async function findDashboard(
  db: Queryable,
  projectId: string,
): Promise<{ issue_number: number; body_hash: string | null } | null> {
  return maybeOne(
    db,
    IssueNumberBodyHashRow,
    sql`select issue_number, body_hash from github_dashboards where project_id = ${projectId}`,
  );
}

export async function saveDashboard(
  db: Queryable,
  projectId: string,
  d: { issueNumber: number; bodyHash: string },
): Promise<void> {
  await exec(
    db,
    sql`insert into github_dashboards (project_id, issue_number, body_hash)
        values (${projectId}, ${d.issueNumber}, ${d.bodyHash})
        on conflict (project_id) do update
          set issue_number = excluded.issue_number, body_hash = excluded.body_hash, updated_at = now()`,
  );
}

// ---------------------------------------------------------------------------
// Publishing while GitHub is unreachable
// ---------------------------------------------------------------------------

export async function markPublished(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set payload = payload - 'github'
                          || jsonb_build_object('github', jsonb_build_object('publishedAt', now()::text))
         where id = ${taskId}`,
  );
}

/** The publish input is kept on the task, so a later retry publishes without re-running the agent. */
export async function markPublishPending(db: Queryable, taskId: string, input: unknown, error: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set payload = payload || jsonb_build_object('github', jsonb_build_object(
               'publishPending', true, 'input', ${JSON.stringify(input)}::jsonb, 'lastError', ${error.slice(0, 500)}::text,
               'failedAt', now()::text))
         where id = ${taskId}`,
  );
}

export async function pendingPublishes(db: Queryable, limit: number): Promise<{ id: string; input: unknown }[]> {
  return rows(
    db,
    IdInputRow,
    sql`select t.id, t.payload->'github'->'input' as input from tasks t join projects p on p.id = t.project_id
         where p.source = 'github' and t.status = 'pending' and (t.payload->'github'->>'publishPending')::boolean
         order by t.updated_at limit ${limit}`,
  );
}

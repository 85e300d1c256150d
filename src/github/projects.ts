import type pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { type Actor, recordEvent } from '../events/record.js';
import { registerProject } from '../projects/register.js';

export interface GitHubProject {
  id: string;
  name: string;
  git_url: string;
  working_path: string | null;
  default_branch: string | null;
  github_repo: string;
  github_installation_id: number;
  status: string;
  phase: string;
  current_revision_id: string | null;
  config: Record<string, unknown>;
  cost_usd: number;
}

const COLUMNS = `id, name, git_url, working_path, default_branch, github_repo, github_installation_id, status, phase,
  current_revision_id, config, cost_usd`;

export async function findProjectByRepo(db: Queryable, fullName: string): Promise<GitHubProject | null> {
  const { rows } = await db.query<GitHubProject>(
    `select ${COLUMNS} from projects where source = 'github' and lower(github_repo) = lower($1)
      order by (status = 'archived'), inserted_at desc limit 1`,
    [fullName],
  );
  return rows[0] ?? null;
}

export async function findProjectById(db: Queryable, id: string): Promise<GitHubProject | null> {
  const { rows } = await db.query<GitHubProject>(
    `select ${COLUMNS} from projects where id = $1 and source = 'github'`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * Registers a repository the App was installed on as a project (idempotent by
 * clone URL). A repository re-added after removal comes back from archived.
 */
export async function registerGitHubRepo(
  pool: pg.Pool,
  input: {
    fullName: string;
    cloneUrl: string;
    defaultBranch: string | null;
    installationId: number;
    workingPath: string;
  },
  actor: Actor,
): Promise<{ project: GitHubProject; created: boolean }> {
  const { project, created } = await registerProject(
    pool,
    {
      name: input.fullName,
      gitUrl: input.cloneUrl,
      workingPath: input.workingPath,
      defaultBranch: input.defaultBranch,
      source: 'github',
    },
    actor,
  );
  await withTransaction(pool, async (db) => {
    const prev = await db.query<{ status: string }>('select status from projects where id = $1 for update', [
      project.id,
    ]);
    await db.query(
      `update projects set source = 'github', github_repo = $2, github_installation_id = $3,
              default_branch = coalesce($4, default_branch),
              status = case when status = 'archived' then 'pending' else status end,
              status_reason = case when status = 'archived' then null else status_reason end,
              updated_at = now()
        where id = $1`,
      [project.id, input.fullName, input.installationId, input.defaultBranch],
    );
    if (prev.rows[0]?.status === 'archived') {
      await recordEvent(db, {
        projectId: project.id,
        kind: 'project.restored',
        subjectType: 'project',
        subjectId: project.id,
        actor,
        data: { github_repo: input.fullName },
      });
    }
  });
  return { project: (await findProjectById(pool, project.id))!, created };
}

/**
 * Archives a repository's project when the App is uninstalled or the
 * repository removed: open tasks are cancelled and their jobs removed; the
 * record (tasks, costs, events) stays for the status page.
 */
export async function archiveGitHubRepo(
  pool: pg.Pool,
  fullName: string,
  actor: Actor,
  reason: string,
): Promise<string | null> {
  const project = await findProjectByRepo(pool, fullName);
  if (!project || project.status === 'archived') return null;
  await withTransaction(pool, async (db) => {
    await db.query('select id from projects where id = $1 for update', [project.id]);
    const cancelled = await db.query<{ id: string }>(
      `update tasks set status = 'cancelled', updated_at = now()
        where project_id = $1 and status in ('pending', 'blocked', 'queued') returning id`,
      [project.id],
    );
    if (cancelled.rows.length) {
      await db.query(`select graphile_worker.remove_job('task:' || id::text) from unnest($1::uuid[]) as id`, [
        cancelled.rows.map((r) => r.id),
      ]);
    }
    await db.query(`update projects set status = 'archived', status_reason = $2, updated_at = now() where id = $1`, [
      project.id,
      reason,
    ]);
    await recordEvent(db, {
      projectId: project.id,
      kind: 'project.archived',
      subjectType: 'project',
      subjectId: project.id,
      actor,
      data: { from: project.status, to: 'archived', reason, cancelled_tasks: cancelled.rows.length },
    });
  });
  return project.id;
}

import type pg from 'pg';
import { registerProject } from '../projects/register.js';
import { transitionProject, transitionProjectIn } from '../projects/transition.js';
import type { Actor } from '../store/events.js';
import type { Queryable } from '../store/pool.js';
import { withTransaction } from '../store/pool.js';
import { lockProject, updateGitHubLink } from '../store/projects.js';

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
    await updateGitHubLink(db, project.id, {
      repo: input.fullName,
      installationId: input.installationId,
      defaultBranch: input.defaultBranch,
    });
    if ((await lockProject(db, project.id))?.status === 'archived')
      await transitionProjectIn(db, project.id, 'restore', actor, { data: { github_repo: input.fullName } });
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
  await transitionProject(pool, project.id, 'remove', actor, { reason });
  return project.id;
}

import type pg from 'pg';
import { transitionProject, transitionProjectIn } from '../projects/transition.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { findProjectById, findProjectByRepo, type GitHubProject } from '../store/github.js';
import { lockProject, registerProject, updateGitHubLink } from '../store/projects.js';

export { findProjectById, findProjectByRepo, type GitHubProject } from '../store/github.js';

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

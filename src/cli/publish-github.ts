/**
 * `samgita run --publish`: the run's verified task branches go to the job's
 * GitHub repository as pull requests (the GitHub Action's mode run), through
 * the publisher the App uses, authenticated by GITHUB_TOKEN.
 */
import type pg from 'pg';
import pc from 'picocolors';
import { git } from '../git/git.js';
import { adoptPublishedWork, linkTokenRepo, tokenGitHubFromEnv, tokenPublisher } from '../github/token-mode.js';
import type { Logger } from '../log/logger.js';
import type { TaskPublisher } from '../runner/publisher.js';
import type { Actor } from '../store/events.js';
import { readTaskLines } from '../store/read/dashboard.js';

export async function preparePublishing(
  pool: pg.Pool,
  project: { id: string; root: string; defaultBranch: string | null; branchPrefix: string },
  log: Logger,
  actor: Actor,
  out: NodeJS.WritableStream,
): Promise<TaskPublisher> {
  const gh = tokenGitHubFromEnv(process.env);
  // Like the App's clones, the working copy's HEAD is detached (same commit, same files), so the
  // default branch's ref can follow GitHub's as pull requests are merged during the run.
  await git(project.root, ['checkout', '--quiet', '--detach']);
  // actions/checkout persists the job token as an extra Authorization header; Samgita sends its own
  // on every push and fetch, and GitHub refuses a request that carries two.
  const persisted = await git(project.root, [
    'config',
    '--local',
    '--name-only',
    '--get-regexp',
    '^http\\..*extraheader$',
  ]).catch(() => '');
  for (const key of new Set(persisted.split('\n').filter(Boolean))) {
    await git(project.root, ['config', '--local', '--unset-all', key]);
  }
  await linkTokenRepo(pool, project.id, gh, project.defaultBranch);
  const open = (await readTaskLines(pool, project.id)).filter((t) => t.status === 'pending' || t.status === 'blocked');
  const adopted = await adoptPublishedWork(pool, gh, log, project, open, actor);
  out.write(`publishing to ${pc.cyan(gh.repo)}: one pull request per verified task`);
  out.write(adopted.length ? `; ${adopted.length} already opened by an earlier run (${adopted.join(', ')})\n` : '\n');
  return tokenPublisher(pool, gh, log, process.env.SAMGITA_PUBLIC_URL?.trim() || null);
}

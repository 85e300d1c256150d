import type pg from 'pg';
import { SamgitaError } from '../errors.js';
import { formatPlanDiff } from '../planner/format.js';
import { retryTask } from '../projects/retry-task.js';
import { transitionProject } from '../projects/transition.js';
import type { Actor } from '../store/events.js';
import { taskCounts } from '../store/read/projects.js';
import { findProjectById, type GitHubProject } from './projects.js';

export type SamgitaCommand =
  | { name: 'status' | 'pause' | 'resume' | 'plan' }
  | { name: 'retry'; task: string }
  | { name: 'help'; reason: string };

/** The first `/samgita <command>` line of a comment, or null when there is none. */
export function parseCommand(body: string): SamgitaCommand | null {
  for (const raw of body.split(/\r?\n/)) {
    const m = /^\s*\/samgita(?:\s+(\S+))?(?:\s+(.+?))?\s*$/.exec(raw);
    if (!m) continue;
    const name = (m[1] ?? '').toLowerCase();
    if (name === 'status' || name === 'pause' || name === 'resume' || name === 'plan') return { name };
    if (name === 'retry') {
      return m[2]
        ? { name: 'retry', task: m[2] }
        : { name: 'help', reason: '`/samgita retry` needs a task key, e.g. `/samgita retry dev/fr-1`' };
    }
    return { name: 'help', reason: name ? `unknown command \`${name}\`` : 'no command given' };
  }
  return null;
}

export const HELP =
  'Commands: `/samgita status`, `/samgita pause`, `/samgita resume`, `/samgita retry <task>`, `/samgita plan`.';

/** Write access per GitHub's collaborator permission (admin, maintain and write roles). */
export function canWrite(permission: { permission: string; role_name?: string | null }): boolean {
  return (
    ['admin', 'write'].includes(permission.permission) ||
    ['admin', 'maintain', 'write'].includes(permission.role_name ?? '')
  );
}

export async function statusReply(pool: pg.Pool, project: GitHubProject): Promise<string> {
  const counts = new Map<string, number>();
  for (const r of await taskCounts(pool, project.id)) counts.set(r.status, (counts.get(r.status) ?? 0) + r.n);
  const tasks =
    [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${n} ${status}`)
      .join(', ') || 'no tasks yet';
  return `**Samgita** · status **${project.status}** · phase **${project.phase}** · cost $${Number(project.cost_usd).toFixed(4)}\n\nTasks: ${tasks}`;
}

export async function runCommand(
  pool: pg.Pool,
  project: GitHubProject,
  cmd: SamgitaCommand,
  actor: Actor,
  planDiff: () => Promise<string>,
): Promise<string> {
  try {
    switch (cmd.name) {
      case 'help':
        return `${cmd.reason}. ${HELP}`;
      case 'status':
        return statusReply(pool, project);
      case 'pause':
        await transitionProject(pool, project.id, 'pause', actor, { reason: `paused by @${actor.id} on GitHub` });
        return 'Paused. Running steps finish; nothing new starts until `/samgita resume`.';
      case 'resume': {
        const r = await transitionProject(pool, project.id, 'resume', actor);
        const { phase } = (await findProjectById(pool, project.id)) ?? project;
        return `Resumed in phase **${phase}**; ${r.enqueued} task(s) queued.`;
      }
      case 'plan':
        return `Plan for the PRD on the default branch:\n\n\`\`\`\n${await planDiff()}\n\`\`\``;
      case 'retry': {
        const r = await retryTask(pool, cmd.task, { projectId: project.id, actor });
        const { phase } = (await findProjectById(pool, project.id)) ?? project;
        return `Retrying \`${r.key}\` (phase ${phase}, ${r.status}).`;
      }
    }
  } catch (err) {
    if (err instanceof SamgitaError && cmd.name === 'retry' && err.code === 'NOT_FOUND')
      return `No task \`${cmd.task}\` in this project. \`/samgita status\` lists where things stand.`;
    if (err instanceof SamgitaError) return `Could not ${cmd.name}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`;
    throw err;
  }
}

export { formatPlanDiff };

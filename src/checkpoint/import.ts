/**
 * A project rebuilt from its repository on a machine whose database does not
 * know it: the state ref read (fetched from origin first when there is one),
 * brought up to date with what git history recorded since (branch-facts.ts),
 * written into a new project, and resumed where it stood — completed tasks stay
 * completed, a task in the middle of its RARV loop resumes at its step on its
 * branch. Refused while another deployment holds the project.
 */

import { PROJECT_STATUSES, type ProjectStatus } from '../domain/states.js';
import { SamgitaError } from '../errors.js';
import { tryGit } from '../git/git.js';
import { fetchStateRef, STATE_REF } from '../git/state-ref.js';
import { branchHeads, integratedTasks } from '../git/trailers.js';
import { transitionProjectIn } from '../projects/transition.js';
import { takenTaskIds, writeProjectState } from '../store/checkpoint.js';
import { type Pool, withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { findProjectRefByGitUrl, insertImportedProject, removeImportPlaceholder } from '../store/projects.js';
import { applyBranchFacts, type FactChange } from './branch-facts.js';
import type { ProjectState } from './document.js';
import { decideOwnership, heldMessage, type Ownership } from './ownership.js';
import { checkpointProject, readRecordedState, us } from './write-state.js';

export interface ImportInput {
  /** The repository on this machine (a clone, or the project's own directory). */
  repo: string;
  /** The project's identity here (canonicalGitUrl of the repository). */
  gitUrl: string;
  name: string;
  takeOver: boolean;
  actor: Actor;
  /** The API's row for this import, made while it cloned: the project takes its id. */
  placeholder?: string;
}

export interface ImportResult {
  projectId: string;
  state: ProjectState;
  ownership: Ownership;
  changes: FactChange[];
  stateCommit: string | null;
}

/** Brings the remote's state ref and task branches into `repo` when it has an origin; false when there is none. */
export async function fetchRecordedState(repo: string, branchPrefix = 'samgita/'): Promise<boolean> {
  const origin = await tryGit(repo, ['remote', 'get-url', 'origin']);
  if (!origin) return false;
  const got = await fetchStateRef(repo, 'origin');
  // Task branches as local branches: worktrees are made from them. The checked-out branch is never a task branch.
  await tryGit(
    repo,
    ['fetch', '--no-tags', '-q', 'origin', `+refs/heads/${branchPrefix}*:refs/heads/${branchPrefix}*`],
    {
      timeoutMs: 120_000,
    },
  );
  return got;
}

export async function importProject(pool: Pool, input: ImportInput): Promise<ImportResult> {
  const recorded = await readRecordedState(input.repo);
  if (!recorded)
    throw new SamgitaError('NOT_FOUND', `${input.repo} has no Samgita state (${STATE_REF})`, {
      hint: 'the ref is written while Samgita runs a project; a project never run needs no import: `samgita run` it',
    });
  const owner = await us(pool);
  const ownership = decideOwnership(
    { owner: recorded.owner, at: recorded.written_at },
    owner.deployment,
    input.takeOver,
  );
  if (ownership.kind === 'held') {
    const m = heldMessage(ownership, recorded.project.name);
    throw new SamgitaError('PROJECT_HELD', m.message, { hint: m.hint });
  }
  const integration = recorded.project.integration_branch;
  const branches = recorded.tasks.map((t) => t.branch).filter((b): b is string => !!b);
  const { state, changes } = applyBranchFacts(recorded, {
    integrated: integration ? await integratedTasks(input.repo, integration) : new Map(),
    heads: await branchHeads(input.repo, integration ? [...branches, integration] : branches),
    integrationHead: integration ? ((await branchHeads(input.repo, [integration])).get(integration) ?? null) : null,
  });

  const projectId = await withTransaction(pool, async (db) => {
    if (input.placeholder && !(await removeImportPlaceholder(db, input.placeholder)))
      throw new SamgitaError('CONFLICT', `project ${input.placeholder} changed while its repository was cloned`);
    const existing = await findProjectRefByGitUrl(db, input.gitUrl);
    if (existing)
      throw new SamgitaError('CONFLICT', `${input.gitUrl} is already project ${existing.name} (${existing.id}) here`, {
        hint: `an import rebuilds a project a database does not know; to roll this one back use \`samgita restore ${existing.name} --snapshot <id|time>\``,
      });
    const taken = await takenTaskIds(
      db,
      state.tasks.map((t) => t.id),
    );
    if (taken)
      throw new SamgitaError('CONFLICT', `${taken} task(s) of this state already belong to another project here`, {
        hint: 'the state was imported into this database before, under another URL; delete that project first',
      });
    const running = state.project.status === 'running';
    const id = await insertImportedProject(db, {
      ...(input.placeholder ? { id: input.placeholder } : {}),
      name: input.name,
      gitUrl: input.gitUrl,
      workingPath: input.repo,
      defaultBranch: state.project.default_branch,
      status: running ? 'pending' : asProjectStatus(state.project.status),
      statusReason: running ? null : state.project.status_reason,
    });
    await writeProjectState(db, id, state, { replace: false, actor: input.actor });
    // Running when it was written: it runs here, its open tasks queued now.
    if (running) await transitionProjectIn(db, id, 'start', input.actor);
    return id;
  });
  // The ref now records this deployment: the one the project came from refuses it from here on.
  const w = await checkpointProject(pool, projectId, input.repo, {
    takeOver: input.takeOver,
    reason: `Imported by deployment ${owner.deployment} on ${owner.host}.`,
  });
  return {
    projectId,
    state,
    ownership,
    changes,
    stateCommit: w.kind === 'written' || w.kind === 'unchanged' ? w.sha : null,
  };
}

function asProjectStatus(s: string): ProjectStatus {
  if ((PROJECT_STATUSES as readonly string[]).includes(s)) return s as ProjectStatus;
  throw new SamgitaError('STATE_INVALID', `project.json: project.status ${JSON.stringify(s)} is not a project status`, {
    hint: `one of ${PROJECT_STATUSES.join(', ')}`,
  });
}

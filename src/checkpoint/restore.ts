/**
 * `samgita restore`: a project rolled back to an earlier state commit (before
 * a bad PRD edit, say). Planned first — what would change, as `samgita plan`
 * shows a plan — and applied only when asked, to a project that is not
 * running: the plan, statuses and RARV steps of the snapshot, tasks created
 * since cancelled, the project paused for a person to resume. Branches keep
 * their commits: a task restored to before its work resumes from its branch.
 */
import { SamgitaError } from '../errors.js';
import { type StateCommit, stateLog } from '../git/state-ref.js';
import { transitionProjectIn } from '../projects/transition.js';
import { readProjectState, snapshotCommit, writeProjectState } from '../store/checkpoint.js';
import { type Pool, withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { liveAgentRuns } from '../store/projects.js';
import { diffStates, type ProjectState, type StateDiff } from './document.js';
import { heldMessage } from './ownership.js';
import { checkpointProject, ownershipOf, readRecordedState, us } from './write-state.js';

export interface RestorePlan {
  commit: StateCommit;
  target: ProjectState;
  diff: StateDiff;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Which state commit `snapshot` names: a snapshot id (uuid), a commit (7–40 hex
 * digits) of the ref, or a time — the newest state commit at or before it.
 */
export function pickSnapshot(
  log: readonly StateCommit[],
  snapshot: string,
  bySnapshotId: string | null,
): StateCommit | { error: string } {
  const s = snapshot.trim();
  if (UUID.test(s)) {
    const c = bySnapshotId && log.find((l) => l.sha === bySnapshotId);
    return c || { error: `snapshot ${s} wrote no state commit of this project` };
  }
  if (/^[0-9a-f]{7,40}$/i.test(s)) {
    const found = log.filter((l) => l.sha.startsWith(s.toLowerCase()));
    if (found.length === 1) return found[0]!;
    if (found.length > 1) return { error: `${s} names ${found.length} state commits; give more digits` };
  }
  const t = Date.parse(s);
  if (Number.isNaN(t))
    return { error: `${s} is neither a snapshot id, a state commit nor a time (e.g. 2026-12-01T08:00:00Z)` };
  const at = log.find((l) => Date.parse(l.at) <= t);
  return at ?? { error: `no state commit at or before ${new Date(t).toISOString()}` };
}

export async function planRestore(pool: Pool, projectId: string, repo: string, snapshot: string): Promise<RestorePlan> {
  const log = await stateLog(repo);
  if (!log.length)
    throw new SamgitaError('NOT_FOUND', `${repo} has no Samgita state commits to restore from`, {
      hint: 'state commits are written while the project runs (refs/samgita/state)',
    });
  const picked = pickSnapshot(
    log,
    snapshot,
    UUID.test(snapshot) ? await snapshotCommit(pool, projectId, snapshot) : null,
  );
  if ('error' in picked)
    throw new SamgitaError('NOT_FOUND', picked.error, {
      hint: `\`samgita restore <project>\` lists the state commits; the newest: ${log
        .slice(0, 3)
        .map((l) => `${l.sha.slice(0, 12)} (${l.at})`)
        .join(', ')}`,
    });
  const target = await readRecordedState(repo, picked.sha);
  if (!target) throw new SamgitaError('NOT_FOUND', `state commit ${picked.sha} could not be read`);
  const current = await readProjectState(pool, projectId, await us(pool), new Date());
  if (!current) throw new SamgitaError('NOT_FOUND', `project ${projectId} not found`);
  return { commit: picked, target, diff: diffStates(current, target) };
}

export async function applyRestore(
  pool: Pool,
  projectId: string,
  repo: string,
  plan: RestorePlan,
  actor: Actor,
): Promise<{ cancelled: number; stateCommit: string | null }> {
  // A ref another deployment holds is that deployment's to roll back.
  const ownership = await ownershipOf(pool, repo, false);
  if (ownership.kind === 'held') {
    const m = heldMessage(ownership, projectId);
    throw new SamgitaError('PROJECT_HELD', m.message, { hint: m.hint });
  }
  const r = await withTransaction(pool, async (db) => {
    const live = await liveAgentRuns(db, projectId);
    if (live)
      throw new SamgitaError('CONFLICT', `${live} agent run(s) of the project are still working`, {
        hint: 'pause the project and wait for its running steps to reach their checkpoint (`samgita status`), then restore',
      });
    const written = await writeProjectState(db, projectId, plan.target, { replace: true, actor });
    await transitionProjectIn(db, projectId, 'roll_back', actor, {
      reason: `rolled back to state commit ${plan.commit.sha.slice(0, 12)} of ${plan.commit.at}; resume to continue`,
      data: { commit: plan.commit.sha, at: plan.commit.at, cancelled: written.cancelled },
    });
    return written;
  });
  const w = await checkpointProject(pool, projectId, repo, {
    reason: `Rolled back to ${plan.commit.sha} (${plan.commit.at}).`,
  });
  return { cancelled: r.cancelled, stateCommit: w.kind === 'written' || w.kind === 'unchanged' ? w.sha : null };
}

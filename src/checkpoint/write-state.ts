/**
 * Writes the project's state into its repository (refs/samgita/state): read
 * from PostgreSQL in one consistent transaction, turned into files, redacted,
 * committed on top of the ref by compare-and-swap — only by the deployment
 * that holds the project. A state equal to the last one writes nothing.
 */
import os from 'node:os';
import { effectiveConfig } from '../config/effective.js';
import { SamgitaError } from '../errors.js';
import { git } from '../git/git.js';
import { readStateFiles, STATE_REF, stateHead, writeStateCommit } from '../git/state-ref.js';
import { deploymentId, readProjectStateAtOnce, stateMark } from '../store/checkpoint.js';
import type { Pool } from '../store/connection.js';
import {
  ownerFromProjectFile,
  type ProjectState,
  StateFormatError,
  type StateOwner,
  stateFromFiles,
  stateToFiles,
} from './document.js';
import { decideOwnership, type Ownership } from './ownership.js';
import { redactStateFiles } from './redact.js';

export type CheckpointOutcome =
  | { kind: 'written'; sha: string; ownership: Ownership }
  | { kind: 'unchanged'; sha: string }
  | { kind: 'held'; by: StateOwner; since: string }
  | { kind: 'no_project' };

/** The state the ref holds now (its head), or null; a malformed state names the file. */
export async function readRecordedState(repo: string, commit?: string): Promise<ProjectState | null> {
  const sha = commit ?? (await stateHead(repo));
  if (!sha) return null;
  const at = (await git(repo, ['show', '-s', '--format=%cI', sha])).trim();
  try {
    return stateFromFiles(await readStateFiles(repo, sha), at);
  } catch (err) {
    if (!(err instanceof StateFormatError)) throw err;
    throw new SamgitaError('STATE_INVALID', `${STATE_REF} at ${sha.slice(0, 12)}: ${err.message}`, {
      location: { file: err.file },
    });
  }
}

/** The holder and time of a state commit, reading project.json alone. */
async function readRecordedOwner(repo: string, sha: string): Promise<{ owner: StateOwner; at: string }> {
  const [at, text] = await Promise.all([
    git(repo, ['show', '-s', '--format=%cI', sha]),
    git(repo, ['show', `${sha}:project.json`], { raw: true }),
  ]);
  try {
    return { owner: ownerFromProjectFile(text), at: at.trim() };
  } catch (err) {
    if (!(err instanceof StateFormatError)) throw err;
    throw new SamgitaError('STATE_INVALID', `${STATE_REF} at ${sha.slice(0, 12)}: ${err.message}`, {
      location: { file: err.file },
    });
  }
}

const DEPLOYMENTS = new WeakMap<Pool, Promise<string>>();

/** This deployment as the ref records it. */
export async function us(pool: Pool): Promise<StateOwner> {
  // One id per database for its whole life: asked once per pool, not at every state write.
  let id = DEPLOYMENTS.get(pool);
  if (!id) {
    id = deploymentId(pool);
    DEPLOYMENTS.set(pool, id);
    id.catch(() => DEPLOYMENTS.delete(pool));
  }
  return { deployment: await id, host: os.hostname() };
}

/** Whether this deployment may run the project in `repo` (reads the ref; writes nothing). */
export async function ownershipOf(pool: Pool, repo: string, takeOver: boolean): Promise<Ownership> {
  const head = await stateHead(repo);
  return decideOwnership(head ? await readRecordedOwner(repo, head) : null, (await us(pool)).deployment, takeOver);
}

/**
 * What a writer remembers of its last commit per project: a project whose mark
 * (store/checkpoint.ts stateMark) and ref head did not move is not read again.
 */
export type CheckpointMemo = Map<
  string,
  {
    mark: string;
    head: string;
    tasks: number;
    /**
     * What the last call cost here, without the remote's pull and push: the
     * checkpointer spaces writes by it, and time spent waiting on GitHub costs
     * no CPU (counting it had held a slow push's project back by ten times the push).
     */
    localMs: number;
  }
>;

export async function checkpointProject(
  pool: Pool,
  projectId: string,
  repo: string,
  opts: {
    takeOver?: boolean;
    reason?: string;
    now?: Date;
    memo?: CheckpointMemo;
    /** Brings the remote's state ref in first (a GitHub project); skipped when the memo says nothing moved. */
    pull?: () => Promise<void>;
  } = {},
): Promise<CheckpointOutcome> {
  let began = performance.now();
  const owner = await us(pool);
  const mark = opts.memo ? await stateMark(pool, projectId) : null;
  const known = opts.memo?.get(projectId);
  if (known && known.mark === mark && (await stateHead(repo)) === known.head) {
    known.localMs = performance.now() - began;
    return { kind: 'unchanged', sha: known.head };
  }
  const pulling = performance.now();
  await opts.pull?.();
  began += performance.now() - pulling;
  const remember = (out: CheckpointOutcome, tasks: number): CheckpointOutcome => {
    if (mark !== null && (out.kind === 'written' || out.kind === 'unchanged'))
      opts.memo?.set(projectId, { mark, head: out.sha, tasks, localMs: performance.now() - began });
    return out;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const parent = await stateHead(repo);
    const recorded = parent ? await readRecordedOwner(repo, parent) : null;
    const ownership = decideOwnership(recorded, owner.deployment, opts.takeOver === true);
    if (ownership.kind === 'held') return { kind: 'held', by: ownership.by, since: ownership.since };
    const state = await readProjectStateAtOnce(pool, projectId, owner, opts.now ?? new Date());
    if (!state) return { kind: 'no_project' };
    const files = await redactStateFiles(stateToFiles(state));
    const config = effectiveConfig(state.project.config);
    const w = await writeStateCommit(repo, files, {
      parent,
      message: commitMessage(state, ownership, opts.reason),
      identity: { name: config.git.author_name, email: config.git.author_email },
    });
    if (w.kind === 'moved') continue;
    if (w.kind === 'unchanged') return remember({ kind: 'unchanged', sha: w.sha }, state.tasks.length);
    return remember({ kind: 'written', sha: w.sha, ownership }, state.tasks.length);
  }
  throw new Error(`${STATE_REF} kept moving while it was written (5 attempts); another writer is active`);
}

function commitMessage(s: ProjectState, o: Ownership, reason: string | undefined): string {
  const done = s.tasks.filter((t) => t.status === 'completed').length;
  const head = `samgita: ${s.project.phase}, ${s.project.status}, ${done}/${s.tasks.length} tasks completed`;
  const lines = [head, ''];
  if (reason) lines.push(reason);
  if (o.kind === 'taken_over') lines.push(`Taken over from deployment ${o.from.deployment} on ${o.from.host}.`);
  return lines.join('\n').trim();
}

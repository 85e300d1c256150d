/**
 * Sync status and health of projects, as `samgita status` and the API show
 * them (definitions in docs/planning.md). Reads only.
 */
import { createHash } from 'node:crypto';
import { PHASES } from '../domain/states.js';
import { errorMessage } from '../errors.js';
import { inspectRepo, readFileAtCommit } from '../git/repo.js';
import type { Queryable } from '../store/connection.js';
import {
  type Integration,
  integrationOf,
  liveRuns,
  projectIds,
  readStatusProject,
  revisionsForSync,
  taskCounts,
} from '../store/read/projects.js';
import { type ProviderWait, readProviderWait } from '../store/runners.js';
import { CONFIG_FILE, PRD_FILE } from './desired-state.js';

export type SyncState = 'synced' | 'out_of_sync' | 'unknown';
export type HealthState = 'healthy' | 'progressing' | 'degraded' | 'suspended';

export interface SyncStatus {
  state: SyncState;
  /** The commit of the recorded (reconciled) revision. */
  recordedCommit: string | null;
  /** The repository's HEAD, for projects with a local working path. */
  headCommit: string | null;
  detail: string;
}

export interface Health {
  state: HealthState;
  reasons: string[];
}

export interface ProjectStatusInfo {
  id: string;
  name: string;
  status: string;
  statusReason: string | null;
  phase: string;
  workingPath: string | null;
  sync: SyncStatus;
  health: Health;
  tasks: Record<string, number>;
  phases: { phase: string; tasks: Record<string, number> }[];
  costUsd: number;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number; total: number };
  activeRuns: number;
  perpetualCycle: number;
  updatedAt: Date;
  /** Set while a provider outage holds this running project's agents back. */
  provider: ProviderWait | null;
  /** Where the product is: the integration branch, its head, its last verify, the merge queue. */
  integration: Integration | null;
}

/** Pure: health from the project status and what its tasks and runners look like. */
export function decideHealth(input: {
  status: string;
  statusReason: string | null;
  tasks: Record<string, number>;
  sync: SyncState;
  staleRuns: number;
}): Health {
  const n = (s: string) => input.tasks[s] ?? 0;
  if (['paused', 'cancelled', 'archived'].includes(input.status)) {
    return {
      state: 'suspended',
      reasons: [`project ${input.status}${input.statusReason ? `: ${input.statusReason}` : ''}`],
    };
  }
  const reasons: string[] = [];
  if (input.status === 'failed') reasons.push(`project failed${input.statusReason ? `: ${input.statusReason}` : ''}`);
  if (n('dead_letter') > 0) reasons.push(`${n('dead_letter')} task(s) dead-lettered`);
  if (n('failed') > 0) reasons.push(`${n('failed')} task(s) failed`);
  if (input.staleRuns > 0) reasons.push(`${input.staleRuns} agent run(s) on a dead or silent runner`);
  if (reasons.length > 0) return { state: 'degraded', reasons };
  const active = n('pending') + n('blocked') + n('queued') + n('running');
  if (input.sync === 'out_of_sync') reasons.push('the PRD at HEAD is not reconciled yet');
  if (active > 0 && ['running', 'pending'].includes(input.status)) reasons.push(`${active} task(s) to go`);
  if (input.status === 'pending') reasons.push('waiting for a runner to start it');
  if (reasons.length > 0) return { state: 'progressing', reasons };
  return { state: 'healthy', reasons: [input.status === 'completed' ? 'all phases done' : 'nothing to do'] };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * In sync when the recorded revision is the newest one and, for a local
 * repository, PRD.md and samgita.yaml at HEAD have the recorded content.
 */
export async function syncStatus(
  db: Queryable,
  project: { id: string; working_path: string | null; current_revision_id: string | null },
  opts: { readHead?: boolean } = {},
): Promise<SyncStatus> {
  const { current, latestId } = await revisionsForSync(db, project.id, project.current_revision_id);
  if (!current) return { state: 'out_of_sync', recordedCommit: null, headCommit: null, detail: 'no PRD recorded yet' };
  const base = { recordedCommit: current.commit_sha, headCommit: null as string | null };
  if (latestId && latestId !== current.id) {
    return { state: 'out_of_sync', ...base, detail: 'a newer PRD revision is recorded but not current' };
  }
  if (opts.readHead === false || !project.working_path) {
    return { state: 'synced', ...base, detail: 'the newest recorded PRD revision is reconciled' };
  }
  try {
    const repo = await inspectRepo(project.working_path);
    const prd = await readFileAtCommit(repo.root, repo.headSha, PRD_FILE);
    const config = await readFileAtCommit(repo.root, repo.headSha, CONFIG_FILE);
    const head = { ...base, headCommit: repo.headSha };
    if (prd === null) return { state: 'unknown', ...head, detail: `HEAD has no ${PRD_FILE}` };
    if (sha256(prd) !== current.content_hash)
      return {
        state: 'out_of_sync',
        ...head,
        detail: `${PRD_FILE} changed at HEAD; run \`samgita run\` or \`samgita plan\``,
      };
    if (sha256(config ?? '') !== current.config_hash)
      return { state: 'out_of_sync', ...head, detail: `${CONFIG_FILE} changed at HEAD` };
    return { state: 'synced', ...head, detail: `${PRD_FILE} at HEAD is the reconciled revision` };
  } catch (err) {
    return { state: 'unknown', ...base, detail: `cannot read ${project.working_path}: ${errorMessage(err)}` };
  }
}

export async function projectStatus(
  db: Queryable,
  projectId: string,
  opts: { readHead?: boolean; staleAfterMs?: number } = {},
): Promise<ProjectStatusInfo> {
  const p = await readStatusProject(db, projectId);
  if (!p) throw new Error(`project ${projectId} not found`);
  const counts = await taskCounts(db, projectId);
  const tasks: Record<string, number> = {};
  const byPhase = new Map<string, Record<string, number>>();
  for (const r of counts) {
    tasks[r.status] = (tasks[r.status] ?? 0) + r.n;
    const c = byPhase.get(r.phase) ?? {};
    c[r.status] = r.n;
    byPhase.set(r.phase, c);
  }
  const staleMs = opts.staleAfterMs ?? 60_000;
  const runs = await liveRuns(db, projectId, staleMs);
  const sync = await syncStatus(db, p, opts.readHead === undefined ? {} : { readHead: opts.readHead });
  const health = decideHealth({
    status: p.status,
    statusReason: p.status_reason,
    tasks,
    sync: sync.state,
    staleRuns: runs.stale,
  });
  const order: readonly string[] = PHASES;
  return {
    id: p.id,
    name: p.name,
    status: p.status,
    statusReason: p.status_reason,
    phase: p.phase,
    workingPath: p.working_path,
    sync,
    health,
    tasks,
    phases: [...byPhase]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
      .map(([phase, t]) => ({ phase, tasks: t })),
    costUsd: p.cost_usd,
    tokens: {
      input: p.input_tokens,
      output: p.output_tokens,
      cacheRead: p.cache_read_tokens,
      cacheWrite: p.cache_write_tokens,
      total: p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens,
    },
    activeRuns: runs.active,
    perpetualCycle: p.perpetual_cycle,
    updatedAt: p.updated_at,
    provider: p.status === 'running' ? await readProviderWait(db) : null,
    integration: await integrationOf(db, p),
  };
}

/** Every project's status (archived ones only with `all`), newest first. */
export async function listProjectStatuses(
  db: Queryable,
  opts: { all?: boolean; readHead?: boolean } = {},
): Promise<ProjectStatusInfo[]> {
  const ids = await projectIds(db, opts.all === true);
  const out: ProjectStatusInfo[] = [];
  for (const id of ids)
    out.push(await projectStatus(db, id, opts.readHead === undefined ? {} : { readHead: opts.readHead }));
  return out;
}

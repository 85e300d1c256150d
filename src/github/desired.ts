import type pg from 'pg';
import { parseSamgitaYaml, type SamgitaConfig } from '../config/samgita-yaml/index.js';
import { runProject } from '../projects/transition.js';
import { CONFIG_FILE, PRD_FILE } from '../reconcile/desired-state.js';
import { type ReconcileResult, reconcileProject } from '../reconcile/reconcile.js';
import type { Actor } from '../store/events.js';
import { recordRevision } from '../store/revisions.js';

export interface RemoteDesiredState {
  commitSha: string;
  prd: string;
  config: SamgitaConfig;
  configText: string | null;
}

export type FileReader = (path: string, ref: string) => Promise<string | null>;

/**
 * PRD.md + samgita.yaml at a commit of the default branch, read through the
 * contents API (never from a pull request's branch, so a PR cannot change
 * what agents are told). A bad samgita.yaml throws the positioned config error.
 */
export async function readRemoteDesiredState(read: FileReader, commitSha: string): Promise<RemoteDesiredState | null> {
  const [prd, configText] = await Promise.all([read(PRD_FILE, commitSha), read(CONFIG_FILE, commitSha)]);
  if (prd === null || !prd.trim()) return null;
  const config = parseSamgitaYaml(configText ?? '', CONFIG_FILE);
  return { commitSha, prd, config, configText };
}

/**
 * Records the revision and reconciles the project toward it, then starts the
 * project and queues ready tasks.
 */
export async function applyDesiredState(
  pool: pg.Pool,
  projectId: string,
  desired: RemoteDesiredState,
  actor: Actor,
  opts: { dryRun?: boolean } = {},
): Promise<ReconcileResult> {
  if (opts.dryRun) {
    return reconcileProject(pool, {
      projectId,
      revisionId: null,
      prd: desired.prd,
      config: desired.config,
      dryRun: true,
      actor,
    });
  }
  const { revision } = await recordRevision(
    pool,
    projectId,
    {
      commitSha: desired.commitSha,
      content: desired.prd,
      config: desired.config,
      configText: desired.configText,
      source: 'github',
    },
    actor,
  );
  const result = await reconcileProject(pool, {
    projectId,
    revisionId: revision.id,
    prd: desired.prd,
    config: desired.config,
    dryRun: false,
    actor,
  });
  // A push runs the project (a person's pause stands until they resume it).
  await runProject(pool, projectId, actor, { resumePaused: false, reason: 'desired state pushed' });
  return result;
}

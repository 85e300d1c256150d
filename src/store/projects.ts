/**
 * The projects record. Status changes are written here by exactly one caller,
 * projects/transition.ts, which checks the lifecycle table and records the
 * event in the same transaction; everything else reads, or writes the other
 * columns through the functions below.
 */
import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, type ProjectStatus } from '../domain/states.js';
import type { Queryable } from './pool.js';
import { exec, maybeOne, sql } from './sql.js';

const LockedRow = z.object({
  id: z.string(),
  status: z.enum(PROJECT_STATUSES),
  phase: z.enum(PHASES),
  config: z.record(z.string(), z.unknown()),
});
export type LockedProject = z.output<typeof LockedRow>;

/**
 * Locks the project row until the transaction ends and returns what a
 * lifecycle decision needs. `for no key update`, not `for update`: inserts
 * that reference the project (events, memories, agent runs) take key-share
 * locks, which a plain `for update` would conflict with (deadlocks seen with
 * 1,000 agents).
 */
export async function lockProject(db: Queryable, projectId: string): Promise<LockedProject | null> {
  return maybeOne(
    db,
    LockedRow,
    sql`select id, status, phase, config from projects where id = ${projectId} for no key update`,
  );
}

/** Only projects/transition.ts calls this: it checks the lifecycle table and records the event. */
export async function writeProjectStatus(
  db: Queryable,
  projectId: string,
  status: ProjectStatus,
  reason: string | null,
): Promise<void> {
  await exec(
    db,
    sql`update projects set status = ${status}, status_reason = ${reason}, updated_at = now() where id = ${projectId}`,
  );
}

export async function writeProjectPhase(db: Queryable, projectId: string, phase: string): Promise<void> {
  await exec(db, sql`update projects set phase = ${phase}, updated_at = now() where id = ${projectId}`);
}

/** Links a project to its GitHub repository and App installation. */
export async function updateGitHubLink(
  db: Queryable,
  projectId: string,
  link: { repo: string; installationId: number; defaultBranch: string | null },
): Promise<void> {
  await exec(
    db,
    sql`update projects set source = 'github', github_repo = ${link.repo}, github_installation_id = ${link.installationId},
               default_branch = coalesce(${link.defaultBranch}, default_branch), updated_at = now()
         where id = ${projectId}`,
  );
}

export async function writePerpetualCycle(db: Queryable, projectId: string, cycle: number): Promise<void> {
  await exec(db, sql`update projects set perpetual_cycle = ${cycle}, updated_at = now() where id = ${projectId}`);
}

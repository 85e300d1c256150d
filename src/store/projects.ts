/**
 * Projects and their PRD revisions: registration, settings, the status (written
 * only by projects/transition.ts), the current desired state and its history.
 */
import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, type ProjectStatus } from '../domain/states.js';
import { sha256 } from '../projects/identity.js';
import { exec, maybeOne, one, type Pool, type Queryable, rows, sql, withTransaction } from './connection.js';
import { type Actor, recordEvent } from './events.js';

/**
 * The projects record. Status changes are written here by exactly one caller,
 * projects/transition.ts, which checks the lifecycle table and records the
 * event in the same transaction; everything else reads, or writes the other
 * columns through the functions below.
 */
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

export interface ProjectRow {
  id: string;
  name: string;
  git_url: string;
  working_path: string | null;
  default_branch: string | null;
  phase: string;
  status: string;
  status_reason: string | null;
  current_revision_id: string | null;
  config: Record<string, unknown>;
}

/**
 * Registers a project idempotently by git URL. A second call finds the same
 * row (and refreshes its working path); `created` tells which happened.
 */
export async function registerProject(
  pool: Pool,
  input: {
    name: string;
    gitUrl: string;
    workingPath: string | null;
    defaultBranch: string | null;
    source?: 'local' | 'api' | 'github';
  },
  actor: Actor,
): Promise<{ project: ProjectRow; created: boolean }> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<ProjectRow & { created: boolean }>(
      `insert into projects (name, git_url, working_path, default_branch, source)
       values ($1, $2, $3, $4, $5)
       on conflict (git_url) do update
         set working_path = coalesce(excluded.working_path, projects.working_path),
             default_branch = coalesce(projects.default_branch, excluded.default_branch),
             updated_at = case when projects.working_path is distinct from excluded.working_path
                               then now() else projects.updated_at end
       returning *, (xmax = 0) as created`,
      [input.name, input.gitUrl, input.workingPath, input.defaultBranch, input.source ?? 'local'],
    );
    const { created, ...project } = rows[0]!;
    if (created) {
      await recordEvent(db, {
        projectId: project.id,
        kind: 'project.created',
        subjectType: 'project',
        subjectId: project.id,
        actor,
        data: { name: project.name, git_url: project.git_url },
      });
    }
    return { project, created };
  });
}

const TotalsRow = z.object({
  status: z.enum(PROJECT_STATUSES),
  config: z.record(z.string(), z.unknown()),
  prd_content: z.string().nullable(),
  perpetual_cycle: z.number(),
  cost_usd: z.number(),
  tokens: z.number(),
});

/** Locks the project (as lockProject) and returns its PRD, spend and perpetual cycle. */
export async function lockProjectTotals(db: Queryable, projectId: string): Promise<z.output<typeof TotalsRow> | null> {
  return maybeOne(
    db,
    TotalsRow,
    sql`select status, config, prd_content, perpetual_cycle, cost_usd::float8 as cost_usd,
               (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) as tokens
          from projects where id = ${projectId} for no key update`,
  );
}

const RefRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(PROJECT_STATUSES),
  working_path: z.string().nullable(),
  git_url: z.string(),
});
export type ProjectRef = z.output<typeof RefRow>;
const REF_COLUMNS = sql`id, name, status, working_path, git_url`;

export async function findProjectRefById(db: Queryable, id: string): Promise<ProjectRef | null> {
  return maybeOne(db, RefRow, sql`select ${REF_COLUMNS} from projects where id = ${id}`);
}

export async function findProjectRefsByName(db: Queryable, name: string): Promise<ProjectRef[]> {
  return rows(db, RefRow, sql`select ${REF_COLUMNS} from projects where name = ${name} order by inserted_at`);
}

/** The oldest project whose working path or git URL is one of these. */
export async function findProjectRefByLocation(
  db: Queryable,
  paths: readonly string[],
  urls: readonly string[],
): Promise<ProjectRef | null> {
  return maybeOne(
    db,
    RefRow,
    sql`select ${REF_COLUMNS} from projects
         where working_path = any(${[...paths]}::text[]) or git_url = any(${[...urls]}::text[])
         order by inserted_at limit 1`,
  );
}

/** Agent runs of the project still in progress. */
export async function liveAgentRuns(db: Queryable, projectId: string): Promise<number> {
  const r = await one(
    db,
    z.object({ n: z.number() }),
    sql`select count(*)::int as n from agent_runs where project_id = ${projectId} and ended_at is null`,
  );
  return r.n;
}

/** Tasks of the project with work left (or failed and retryable by a new run). */
export async function tasksToRun(db: Queryable, projectId: string): Promise<number> {
  const r = await one(
    db,
    z.object({ n: z.number() }),
    sql`select count(*)::int as n from tasks
         where project_id = ${projectId} and status in ('pending', 'blocked', 'queued', 'running', 'failed')`,
  );
  return r.n;
}

export async function projectStatusOf(db: Queryable, projectId: string): Promise<string | null> {
  const r = await maybeOne(
    db,
    z.object({ status: z.string() }),
    sql`select status from projects where id = ${projectId}`,
  );
  return r?.status ?? null;
}

/**
 * Inserts a project made through the API and records `project.created`. A
 * git URL that is already a project fails with PostgreSQL's unique violation (23505).
 */
export async function insertProject(
  db: Queryable,
  p: { name: string; gitUrl: string; workingPath: string | null; config: unknown },
  actor: Actor,
  eventData: Record<string, unknown>,
): Promise<string> {
  const { id } = await one(
    db,
    z.object({ id: z.string() }),
    sql`insert into projects (name, git_url, working_path, source, config)
        values (${p.name}, ${p.gitUrl}, ${p.workingPath}, 'api', ${JSON.stringify(p.config)}) returning id`,
  );
  await recordEvent(db, {
    projectId: id,
    kind: 'project.created',
    subjectType: 'project',
    subjectId: id,
    actor,
    data: { name: p.name, git_url: p.gitUrl, ...eventData },
  });
  return id;
}

const EditRow = z.object({ status: z.enum(PROJECT_STATUSES), name: z.string(), git_url: z.string() });

/** Locks the project row for an edit or a delete (`for update`: deleting needs the strongest row lock). */
export async function lockProjectForEdit(db: Queryable, id: string): Promise<z.output<typeof EditRow> | null> {
  return maybeOne(db, EditRow, sql`select status, name, git_url from projects where id = ${id} for update`);
}

/** Writes the settings given (config is replaced whole) and records `project.updated` naming `fields`. */
export async function updateProjectSettings(
  db: Queryable,
  id: string,
  change: { name?: string | undefined; config?: unknown; workingPath?: string | null | undefined },
  actor: Actor,
  fields: readonly string[],
): Promise<void> {
  await exec(
    db,
    sql`update projects set name = coalesce(${change.name ?? null}, name),
               config = coalesce(${change.config ? JSON.stringify(change.config) : null}, config),
               working_path = case when ${change.workingPath !== undefined} then ${change.workingPath ?? null}
                                   else working_path end,
               updated_at = now()
         where id = ${id}`,
  );
  await recordEvent(db, {
    projectId: id,
    kind: 'project.updated',
    subjectType: 'project',
    subjectId: id,
    actor,
    data: { fields: [...fields] },
  });
}

/** Deletes a project (its rows cascade) and records `project.deleted`; audit events are kept. */
export async function deleteProject(
  db: Queryable,
  id: string,
  actor: Actor,
  data: Record<string, unknown>,
): Promise<void> {
  await exec(db, sql`delete from projects where id = ${id}`);
  await recordEvent(db, {
    projectId: id,
    kind: 'project.deleted',
    subjectType: 'project',
    subjectId: id,
    actor,
    data,
  });
}

/**
 * Adds one CLI run's usage to the project's totals. A statement of its own,
 * never in a transaction that also holds a task row: the project row is shared
 * by every agent of the project (see tasks/load.ts addUsage).
 */
export async function addProjectUsage(
  db: Queryable,
  projectId: string,
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number },
  costUsd: number,
): Promise<void> {
  await exec(
    db,
    sql`update projects set input_tokens = input_tokens + ${usage.inputTokens},
               output_tokens = output_tokens + ${usage.outputTokens},
               cache_read_tokens = cache_read_tokens + ${usage.cacheReadTokens},
               cache_write_tokens = cache_write_tokens + ${usage.cacheWriteTokens}, cost_usd = cost_usd + ${costUsd},
               updated_at = now()
         where id = ${projectId}`,
  );
}

/**
 * The prd_revisions record: PRD.md (+ samgita.yaml) at a commit, or as saved
 * through the API or the page, and which one is the project's current desired state.
 */

export interface RevisionRow {
  id: string;
  project_id: string;
  commit_sha: string | null;
  content_hash: string;
  config_hash: string;
}

/**
 * Records PRD.md (+ samgita.yaml) at a commit as the project's desired state.
 * The same commit and content recorded twice is one revision.
 */
export async function recordRevision(
  pool: Pool,
  projectId: string,
  input: {
    commitSha: string | null;
    content: string;
    config: unknown;
    configText: string | null;
    /** Overrides the hash of configText (a caller that knows samgita.yaml did not change). */
    configHash?: string;
    source: 'git' | 'api' | 'upload' | 'github';
  },
  actor: Actor,
): Promise<{ revision: RevisionRow; created: boolean }> {
  const contentHash = sha256(input.content);
  const configHash = input.configHash ?? sha256(input.configText ?? '');
  return withTransaction(pool, async (db) => {
    const inserted = await db.query<RevisionRow>(
      `insert into prd_revisions (project_id, commit_sha, content, content_hash, config, config_hash, source)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (project_id, commit_sha, content_hash, config_hash) do nothing
       returning id, project_id, commit_sha, content_hash, config_hash`,
      [
        projectId,
        input.commitSha,
        input.content,
        contentHash,
        JSON.stringify(input.config ?? {}),
        configHash,
        input.source,
      ],
    );
    let revision = inserted.rows[0];
    const created = revision !== undefined;
    if (!revision) {
      const existing = await db.query<RevisionRow>(
        `select id, project_id, commit_sha, content_hash, config_hash from prd_revisions
         where project_id = $1 and commit_sha is not distinct from $2 and content_hash = $3 and config_hash = $4`,
        [projectId, input.commitSha, contentHash, configHash],
      );
      revision = existing.rows[0]!;
    }
    const moved = await db.query(
      `update projects set current_revision_id = $2, prd_content = $3, config = $4, updated_at = now()
       where id = $1 and current_revision_id is distinct from $2`,
      [projectId, revision.id, input.content, JSON.stringify(input.config ?? {})],
    );
    if (created || moved.rowCount) {
      await recordEvent(db, {
        projectId,
        kind: 'project.prd_updated',
        subjectType: 'prd_revision',
        subjectId: revision.id,
        actor,
        data: { commit_sha: input.commitSha, content_hash: contentHash, config_hash: configHash, source: input.source },
      });
    }
    return { revision, created };
  });
}

/** A recorded revision with what re-planning it needs from its project. */
export async function readRevision(
  db: Queryable,
  projectId: string,
  revisionId: string,
): Promise<{ content: string; config: Record<string, unknown>; project_config: unknown } | null> {
  return maybeOne(
    db,
    z.object({ content: z.string(), config: z.record(z.string(), z.unknown()), project_config: z.unknown() }),
    sql`select r.content, r.config, p.config as project_config
          from prd_revisions r join projects p on p.id = r.project_id
         where r.id = ${revisionId} and r.project_id = ${projectId}`,
  );
}

/** A revision as the API shows it. */
export const RevisionRow = z.object({
  id: z.string(),
  project_id: z.string(),
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  source: z.string(),
  inserted_at: z.date(),
});
export type SavedRevision = z.output<typeof RevisionRow> & { created: boolean };

/**
 * Stores PRD text saved through the API or the status page (no commit, no
 * samgita.yaml) as a revision and makes it the project's current one, in the
 * caller's transaction. The same text as the current revision changes
 * nothing (`created: false`, no event).
 */
export async function savePrd(
  db: Queryable,
  projectId: string,
  content: string,
  source: 'api' | 'upload',
  actor: Actor,
): Promise<SavedRevision> {
  const hash = sha256(content);
  const rev =
    (await maybeOne(
      db,
      RevisionRow,
      sql`insert into prd_revisions (project_id, content, content_hash, source)
          values (${projectId}, ${content}, ${hash}, ${source})
          on conflict do nothing returning id, project_id, commit_sha, content_hash, source, inserted_at`,
    )) ??
    (await maybeOne(
      db,
      RevisionRow,
      sql`select id, project_id, commit_sha, content_hash, source, inserted_at from prd_revisions
           where project_id = ${projectId} and commit_sha is null and content_hash = ${hash} and config_hash = ''`,
    ));
  if (!rev) throw new Error(`PRD revision ${hash} of project ${projectId} neither inserted nor found`);
  const old = await maybeOne(
    db,
    z.object({ previous: z.string().nullable() }),
    sql`update projects p set prd_content = ${content}, current_revision_id = ${rev.id}, updated_at = now()
          from (select current_revision_id as previous from projects where id = ${projectId} for update) old
         where p.id = ${projectId} returning old.previous`,
  );
  const changed = old?.previous !== rev.id;
  if (changed) {
    await recordEvent(db, {
      projectId,
      kind: 'project.prd_updated',
      subjectType: 'prd_revision',
      subjectId: rev.id,
      actor,
      data: { revision_id: rev.id, content_hash: hash, source, bytes: Buffer.byteLength(content) },
    });
  }
  return { ...rev, created: changed };
}

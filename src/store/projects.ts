/**
 * Projects and their PRD revisions: registration, settings, the status (written
 * only by projects/transition.ts), the current desired state and its history.
 */
import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, type ProjectStatus } from '../domain/states.js';
import { exec, maybeOne, one, type Pool, type Queryable, rows, sql, withTransaction } from './connection.js';
import { type Actor, recordEvent } from './events.js';

const OkRow = z.object({ ok: z.boolean() });
const CountRow = z.object({ n: z.number() });
const StatusRow = z.object({ status: z.string() });
const IdRow = z.object({ id: z.string() });
const NameGitUrlWorkingPathMoreRow = z.object({
  name: z.string(),
  git_url: z.string(),
  working_path: z.string().nullable(),
  clone_state: z.string().nullable(),
});

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
  integration_branch: z.string().nullable(),
  integration_head: z.string().nullable(),
  integration_verify: z.custom<IntegrationVerify>((v) => typeof v === 'object').nullable(),
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
    sql`select id, status, phase, config, integration_branch, integration_head, integration_verify
          from projects where id = ${projectId} for no key update`,
  );
}

/**
 * Whether this transaction is the one advancing the project from settled tasks
 * (projects/advance.ts); held until it ends, on the transaction's own connection
 * (an advance never needs a second one from the pool). Never waits: a runner
 * that does not get it leaves its request to the holder.
 */
export async function tryLockProjectAdvance(db: Queryable, projectId: string): Promise<boolean> {
  const [r] = await rows(
    db,
    OkRow,
    sql`select pg_try_advisory_xact_lock(hashtext('samgita:advance:' || ${projectId}::text)) as ok`,
  );
  return r?.ok ?? false;
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
    CountRow,
    sql`select count(*)::int as n from agent_runs where project_id = ${projectId} and ended_at is null`,
  );
  return r.n;
}

/** Tasks of the project with work left (or failed and retryable by a new run). */
export async function tasksToRun(db: Queryable, projectId: string): Promise<number> {
  const r = await one(
    db,
    CountRow,
    sql`select count(*)::int as n from tasks
         where project_id = ${projectId} and status in ('pending', 'blocked', 'queued', 'running', 'failed')`,
  );
  return r.n;
}

/** Tasks of the project queued or running right now. */
export async function tasksInFlight(db: Queryable, projectId: string): Promise<number> {
  const r = await one(
    db,
    CountRow,
    sql`select count(*)::int as n from tasks where project_id = ${projectId} and status in ('queued', 'running')`,
  );
  return r.n;
}

export async function projectStatusOf(db: Queryable, projectId: string): Promise<string | null> {
  const r = await maybeOne(db, StatusRow, sql`select status from projects where id = ${projectId}`);
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
    IdRow,
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

// ---------------------------------------------------------------------------
// The integration branch
// ---------------------------------------------------------------------------

/** The last whole-product verify: the integration head and how verify judged it there. */
export interface IntegrationVerify {
  head: string;
  status: 'passed' | 'failed' | 'unverified';
  commands: string[];
  summary: string;
  at: string;
}

/** Records the integration branch and head (the merge queue's state) and, with a verify, what judged it. */
export async function recordIntegration(
  db: Queryable,
  projectId: string,
  i: { branch: string; head: string; verify?: IntegrationVerify },
): Promise<void> {
  await exec(
    db,
    sql`update projects set integration_branch = ${i.branch}, integration_head = ${i.head},
               integration_verify = coalesce(${i.verify ? JSON.stringify(i.verify) : null}::jsonb, integration_verify),
               updated_at = now()
         where id = ${projectId}`,
  );
}

const IntegrationTargetRow = z.object({
  id: z.string(),
  status: z.enum(PROJECT_STATUSES),
  working_path: z.string().nullable(),
  config: z.unknown(),
  integration_branch: z.string().nullable(),
});

/** What verifying a project's integration head needs. */
export async function readIntegrationTarget(
  db: Queryable,
  projectId: string,
): Promise<z.output<typeof IntegrationTargetRow> | null> {
  return maybeOne(
    db,
    IntegrationTargetRow,
    sql`select id, status, working_path, config, integration_branch from projects where id = ${projectId}`,
  );
}

/** The server is cloning the project's repository (its job was queued in the same transaction). */
export async function markCloning(db: Queryable, projectId: string): Promise<void> {
  await exec(
    db,
    sql`update projects set clone_state = 'cloning', clone_error = null, updated_at = now() where id = ${projectId}`,
  );
}

/** The clone is complete: the project works in it from now on. */
export async function finishClone(db: Queryable, projectId: string, workingPath: string): Promise<void> {
  await exec(
    db,
    sql`update projects set working_path = ${workingPath}, clone_state = null, clone_error = null, updated_at = now()
         where id = ${projectId}`,
  );
}

/** The clone failed for good (its attempts used up); `error` has no credentials in it. */
export async function failClone(db: Queryable, projectId: string, error: string): Promise<void> {
  await exec(
    db,
    sql`update projects set clone_state = 'failed', clone_error = ${error.slice(0, 2000)}, updated_at = now()
         where id = ${projectId}`,
  );
}

/** What the clone job needs of its project. */
export async function cloneTarget(
  db: Queryable,
  projectId: string,
): Promise<{ name: string; git_url: string; working_path: string | null; clone_state: string | null } | null> {
  return maybeOne(
    db,
    NameGitUrlWorkingPathMoreRow,
    sql`select name, git_url, working_path, clone_state from projects where id = ${projectId}`,
  );
}

/** The project registered under this git URL, if any. */
export async function findProjectRefByGitUrl(db: Queryable, gitUrl: string): Promise<ProjectRef | null> {
  return maybeOne(db, RefRow, sql`select ${REF_COLUMNS} from projects where git_url = ${gitUrl}`);
}

/**
 * Creates the project an import rebuilds (checkpoint/import.ts), in the status
 * its state recorded: a creation, not a lifecycle move. A project that was
 * running is created pending and started through projects/transition.ts.
 */
export async function insertImportedProject(
  db: Queryable,
  p: {
    /** The id of the placeholder the API made while cloning (removed first), else a new one. */
    id?: string;
    name: string;
    gitUrl: string;
    workingPath: string;
    defaultBranch: string | null;
    status: ProjectStatus;
    statusReason: string | null;
  },
): Promise<string> {
  const { id } = await one(
    db,
    IdRow,
    sql`insert into projects (id, name, git_url, working_path, default_branch, source, status, status_reason)
        values (coalesce(${p.id ?? null}::uuid, gen_random_uuid()), ${p.name}, ${p.gitUrl}, ${p.workingPath},
                ${p.defaultBranch}, 'local', ${p.status}, ${p.statusReason})
        returning id`,
  );
  return id;
}

/**
 * Removes the row the API made for an import while it cloned (pending, nothing
 * planned), so the import can create the project under the same id; false when
 * it is not such a row any more.
 */
export async function removeImportPlaceholder(db: Queryable, projectId: string): Promise<boolean> {
  const n = await exec(
    db,
    sql`delete from projects p where p.id = ${projectId} and p.status = 'pending' and p.clone_state = 'cloning'
          and not exists (select 1 from tasks t where t.project_id = p.id)`,
  );
  return n === 1;
}

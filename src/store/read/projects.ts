import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, type ProjectStatus } from '../../domain/states.js';
import { exec, maybeOne, one, type Queryable, raw, rows, sql, where } from '../connection.js';
import type { IntegrationVerify } from '../projects.js';
import { RevisionRow } from '../revisions.js';
import { type ProviderWait, readProviderWait } from '../runners.js';

const ExistsRow = z.object({});
const IdRow = z.object({ id: z.string() });
const ConfigPrdContentRow = z.object({ config: z.record(z.string(), z.unknown()), prd_content: z.string().nullable() });
const ConfigConfigHashRow = z.object({ config: z.unknown(), config_hash: z.string() });
const PhaseStatusNRow = z.object({ phase: z.string(), status: z.string(), n: z.number() });
const ActiveStaleRow = z.object({ active: z.number(), stale: z.number() });

/**
 * What the API and the status page read of projects. Writes are in
 * ../projects.ts; status changes only through projects/transition.ts.
 */
const COLUMNS = raw(`id, name, git_url, working_path, default_branch, source, current_revision_id, phase,
  status, status_reason, config, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
  inserted_at, updated_at`);

export const ProjectRow = z.object({
  id: z.string(),
  name: z.string(),
  git_url: z.string(),
  working_path: z.string().nullable(),
  default_branch: z.string().nullable(),
  source: z.string(),
  current_revision_id: z.string().nullable(),
  phase: z.enum(PHASES),
  status: z.enum(PROJECT_STATUSES),
  status_reason: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_read_tokens: z.number(),
  cache_write_tokens: z.number(),
  cost_usd: z.number(),
  inserted_at: z.date(),
  updated_at: z.date(),
});
export type ProjectRow = z.output<typeof ProjectRow>;

/** `_ts` is inserted_at as PostgreSQL prints it: microseconds survive the round trip through a cursor. */
const ListedRow = ProjectRow.extend({ _ts: z.string() });

/** Newest first, keyset-paginated on (inserted_at, id); fetches one row past `limit` to tell if more follow. */
export async function listProjects(
  db: Queryable,
  q: { limit: number; status?: ProjectStatus | undefined; after: readonly unknown[] | null },
): Promise<z.output<typeof ListedRow>[]> {
  const after = q.after;
  return rows(
    db,
    ListedRow,
    sql`select ${COLUMNS}, inserted_at::text as _ts from projects
        ${where([
          q.status && sql`status = ${q.status}`,
          after && sql`(inserted_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`,
        ])}
         order by inserted_at desc, id desc limit ${q.limit + 1}`,
  );
}

const DetailRow = ProjectRow.extend({
  prd_content: z.string().nullable(),
  tokens_total: z.number(),
  task_counts: z.record(z.string(), z.number()),
  integration_branch: z.string().nullable(),
  integration_head: z.string().nullable(),
  integration_verify: z.custom<IntegrationVerify>((v) => typeof v === 'object').nullable(),
  clone_state: z.enum(['cloning', 'failed']).nullable(),
  clone_error: z.string().nullable(),
});

const QueueRow = z.object({
  task_id: z.string(),
  key: z.string(),
  state: z.enum(['waiting', 'merging', 'sent_back']),
  note: z.string().nullable(),
  since: z.date(),
});
export type MergeQueueEntry = z.output<typeof QueueRow>;

/** Where the product is: the integration branch, its head, the last whole-product verify, the merge queue. */
export interface Integration {
  branch: string;
  head: string | null;
  /** The last whole-product verify, when it judged the current head. */
  verify: IntegrationVerify | null;
  queue: MergeQueueEntry[];
}

export type ProjectDetail = Omit<
  z.output<typeof DetailRow>,
  'integration_branch' | 'integration_head' | 'integration_verify' | 'clone_state' | 'clone_error'
> & {
  clone: { state: 'cloning' | 'failed'; error: string | null } | null;
  tasks_total: number;
  provider_wait: ProviderWait | null;
  integration: Integration | null;
};

/** The tasks in the project's merge queue now (waiting, merging) or sent back from it, oldest first. */
export async function mergeQueue(db: Queryable, projectId: string): Promise<MergeQueueEntry[]> {
  return rows(
    db,
    QueueRow,
    sql`select id as task_id, key, merge_state as state, merge_note as note, updated_at as since from tasks
         where project_id = ${projectId} and merge_state in ('waiting', 'merging', 'sent_back')
           and status in ('queued', 'running', 'pending', 'blocked')
         order by updated_at`,
  );
}

/** A project's integration, from its row. */
export async function integrationOf(
  db: Queryable,
  p: {
    id: string;
    integration_branch: string | null;
    integration_head: string | null;
    integration_verify: IntegrationVerify | null;
  },
): Promise<Integration | null> {
  if (!p.integration_branch) return null;
  const v = p.integration_verify;
  return {
    branch: p.integration_branch,
    head: p.integration_head,
    verify: v && v.head === p.integration_head ? v : null,
    queue: await mergeQueue(db, p.id),
  };
}

/** A project with its PRD, task counts by status, tokens and, while it runs, the provider's wait. */
export async function readProjectDetail(db: Queryable, id: string): Promise<ProjectDetail | null> {
  const row = await maybeOne(
    db,
    DetailRow,
    sql`select ${COLUMNS}, prd_content, integration_branch, integration_head, integration_verify, clone_state, clone_error,
          input_tokens + output_tokens + cache_read_tokens + cache_write_tokens as tokens_total,
          coalesce((select json_object_agg(status, n) from
            (select status, count(*)::int as n from tasks where project_id = p.id group by status) c), '{}') as task_counts
        from projects p where id = ${id}`,
  );
  if (!row) return null;
  const { integration_branch, integration_head, integration_verify, clone_state, clone_error, ...rest } = row;
  return {
    ...rest,
    clone: clone_state ? { state: clone_state, error: clone_error } : null,
    tasks_total: Object.values(row.task_counts).reduce((a, b) => a + b, 0),
    provider_wait: row.status === 'running' ? await readProviderWait(db) : null,
    integration: await integrationOf(db, { id: row.id, integration_branch, integration_head, integration_verify }),
  };
}

export async function projectExists(db: Queryable, id: string): Promise<boolean> {
  return (await maybeOne(db, ExistsRow, sql`select 1 from projects where id = ${id}`)) !== null;
}

/** The project registered under any of these spellings of one git URL, if any. */
export async function projectIdByGitUrl(db: Queryable, spellings: readonly string[]): Promise<string | null> {
  const row = await maybeOne(
    db,
    IdRow,
    sql`select id from projects where git_url = any(${[...spellings]}::text[]) limit 1`,
  );
  return row?.id ?? null;
}

const PrdTarget = z.object({
  id: z.string(),
  status: z.enum(PROJECT_STATUSES),
  source: z.string(),
  github_repo: z.string().nullable(),
  rev_config: z.unknown(),
});
export type PrdTarget = z.output<typeof PrdTarget>;

/** What deciding where a PRD edit goes needs: status, source, and the current revision's samgita.yaml. */
export async function readPrdTarget(db: Queryable, id: string): Promise<PrdTarget | null> {
  return maybeOne(
    db,
    PrdTarget,
    sql`select p.id, p.status, p.source, p.github_repo, r.config as rev_config
          from projects p left join prd_revisions r on r.id = p.current_revision_id where p.id = ${id}`,
  );
}

/** What a clone copies: config and PRD. */
export async function readCloneSource(
  db: Queryable,
  id: string,
): Promise<{ config: Record<string, unknown>; prd_content: string | null } | null> {
  return maybeOne(db, ConfigPrdContentRow, sql`select config, prd_content from projects where id = ${id}`);
}

/** What the API reads of PRD revisions. */
/** The samgita.yaml of the project's current revision and its hash; null without a current revision. */
export async function readCurrentRevisionConfig(
  db: Queryable,
  projectId: string,
): Promise<{ config: unknown; config_hash: string } | null> {
  return maybeOne(
    db,
    ConfigConfigHashRow,
    sql`select r.config, r.config_hash from projects p join prd_revisions r on r.id = p.current_revision_id
         where p.id = ${projectId}`,
  );
}

const RevisionSummary = RevisionRow;

export async function readRevisionSummary(
  db: Queryable,
  revisionId: string,
): Promise<z.output<typeof RevisionSummary> | null> {
  return maybeOne(
    db,
    RevisionSummary,
    sql`select id, project_id, commit_sha, content_hash, source, inserted_at from prd_revisions where id = ${revisionId}`,
  );
}

/** What the API reads of runner processes. */
const RunnerRow = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  pid: z.number(),
  capacity: z.number(),
  version: z.string().nullable(),
  status: z.string(),
  started_at: z.date(),
  heartbeat_at: z.date(),
  stopped_at: z.date().nullable(),
  heartbeat_age_seconds: z.number(),
  sandbox: z
    .object({ state: z.enum(['bubblewrap', 'off', 'unavailable']), detail: z.string().nullable() })
    .nullable()
    // Runners from before the sandbox recorded nothing: they ran agents unconfined.
    .transform((s) => s ?? { state: 'off' as const, detail: 'recorded before runners reported a sandbox' }),
});

/** The newest 1000 runners, with their heartbeat age by the database's clock. */
export async function listRunners(db: Queryable, status?: string): Promise<z.output<typeof RunnerRow>[]> {
  return rows(
    db,
    RunnerRow,
    sql`select id, name, host, pid, capacity, version, status, started_at, heartbeat_at, stopped_at,
               extract(epoch from now() - heartbeat_at)::float8 as heartbeat_age_seconds, meta->'sandbox' as sandbox
          from runners ${where([status && sql`status = ${status}`])} order by started_at desc limit 1000`,
  );
}

/** Resolves when the database answers a trivial statement. */
export async function ping(db: Queryable): Promise<void> {
  await exec(db, sql`select 1`);
}

/** What `samgita status`, the API and the GitHub App read to say where a project stands. Reads only. */
const StatusRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  phase: z.string(),
  working_path: z.string().nullable(),
  current_revision_id: z.string().nullable(),
  cost_usd: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_read_tokens: z.number(),
  cache_write_tokens: z.number(),
  perpetual_cycle: z.number(),
  updated_at: z.date(),
  integration_branch: z.string().nullable(),
  integration_head: z.string().nullable(),
  integration_verify: z.custom<IntegrationVerify>((v) => typeof v === 'object').nullable(),
});
export type StatusProjectRow = z.output<typeof StatusRow>;

export async function readStatusProject(db: Queryable, projectId: string): Promise<StatusProjectRow | null> {
  return maybeOne(
    db,
    StatusRow,
    sql`select id, name, status, status_reason, phase, working_path, current_revision_id, cost_usd::float8 as cost_usd,
               input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, perpetual_cycle, updated_at,
               integration_branch, integration_head, integration_verify
          from projects where id = ${projectId}`,
  );
}

/** Task counts by phase and status. */
export async function taskCounts(
  db: Queryable,
  projectId: string,
): Promise<{ phase: string; status: string; n: number }[]> {
  return rows(
    db,
    PhaseStatusNRow,
    sql`select phase, status, count(*)::int as n from tasks where project_id = ${projectId} group by phase, status`,
  );
}

/** Agent runs in progress, and how many of them are on a dead, stopped or silent runner. */
export async function liveRuns(
  db: Queryable,
  projectId: string,
  staleAfterMs: number,
): Promise<{ active: number; stale: number }> {
  return one(
    db,
    ActiveStaleRow,
    sql`select count(*)::int as active,
               count(*) filter (where r.id is null or r.status in ('dead', 'stopped')
                                 or r.heartbeat_at < now() - make_interval(secs => ${staleAfterMs}::float8 / 1000))::int
                 as stale
          from agent_runs a left join runners r on r.id = a.runner_id
         where a.project_id = ${projectId} and a.ended_at is null`,
  );
}

const SyncRevisionRow = z.object({
  id: z.string(),
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  config_hash: z.string(),
});

/** The project's current revision and whether a newer one is recorded. */
export async function revisionsForSync(
  db: Queryable,
  projectId: string,
  currentRevisionId: string | null,
): Promise<{ current: z.output<typeof SyncRevisionRow> | null; latestId: string | null }> {
  const current = currentRevisionId
    ? await maybeOne(
        db,
        SyncRevisionRow,
        sql`select id, commit_sha, content_hash, config_hash from prd_revisions where id = ${currentRevisionId}`,
      )
    : null;
  const latest = await maybeOne(
    db,
    IdRow,
    sql`select id from prd_revisions where project_id = ${projectId} order by inserted_at desc, id desc limit 1`,
  );
  return { current, latestId: latest?.id ?? null };
}

/** Every project's id (archived ones only with `all`), newest first. */
export async function projectIds(db: Queryable, all: boolean): Promise<string[]> {
  const found = await rows(
    db,
    IdRow,
    sql`select id from projects where ${all} or status <> 'archived' order by inserted_at desc, id`,
  );
  return found.map((r) => r.id);
}

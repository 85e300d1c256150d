/**
 * What the API and the status page read of projects. Writes are in
 * ../projects.ts; status changes only through projects/transition.ts.
 */
import { z } from 'zod';
import { PHASES, PROJECT_STATUSES, type ProjectStatus } from '../../domain/states.js';
import type { Queryable } from '../pool.js';
import { type ProviderWait, readProviderWait } from '../provider.js';
import { maybeOne, raw, rows, sql } from '../sql.js';
import { where } from './where.js';

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
});
export type ProjectDetail = z.output<typeof DetailRow> & { tasks_total: number; provider_wait: ProviderWait | null };

/** A project with its PRD, task counts by status, tokens and, while it runs, the provider's wait. */
export async function readProjectDetail(db: Queryable, id: string): Promise<ProjectDetail | null> {
  const row = await maybeOne(
    db,
    DetailRow,
    sql`select ${COLUMNS}, prd_content,
          input_tokens + output_tokens + cache_read_tokens + cache_write_tokens as tokens_total,
          coalesce((select json_object_agg(status, n) from
            (select status, count(*)::int as n from tasks where project_id = p.id group by status) c), '{}') as task_counts
        from projects p where id = ${id}`,
  );
  if (!row) return null;
  return {
    ...row,
    tasks_total: Object.values(row.task_counts).reduce((a, b) => a + b, 0),
    provider_wait: row.status === 'running' ? await readProviderWait(db) : null,
  };
}

export async function projectExists(db: Queryable, id: string): Promise<boolean> {
  return (await maybeOne(db, z.object({}), sql`select 1 from projects where id = ${id}`)) !== null;
}

/** The project registered for a git URL, if any. */
export async function projectIdByGitUrl(db: Queryable, gitUrl: string): Promise<string | null> {
  const row = await maybeOne(db, z.object({ id: z.string() }), sql`select id from projects where git_url = ${gitUrl}`);
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
  return maybeOne(
    db,
    z.object({ config: z.record(z.string(), z.unknown()), prd_content: z.string().nullable() }),
    sql`select config, prd_content from projects where id = ${id}`,
  );
}

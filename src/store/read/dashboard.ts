import { z } from 'zod';
import { PHASES, PROJECT_STATUSES } from '../../domain/states.js';
import { verifyStatusOf } from '../../verify/status.js';
import { join, maybeOne, one, type Queryable, raw, rows, type Sql, sql, where } from '../connection.js';

const ReadyWaitingRow = z.object({ ready: z.number(), waiting: z.number() });
const InputOutputCacheReadMoreRow = z.object({
  input: z.number(),
  output: z.number(),
  cache_read: z.number(),
  cache_write: z.number(),
});
const CRow = z.object({ c: z.number() });
const NameHostStatusMoreRow = z.object({ name: z.string(), host: z.string(), status: z.string(), age: z.number() });
const BucketsNSRow = z.object({ buckets: z.array(z.number()), n: z.number(), s: z.number() });
const IdKindDataMoreRow = z.object({
  id: z.number(),
  kind: z.string(),
  data: z.record(z.string(), z.unknown()),
  subject_id: z.string().nullable(),
});
const MaxRow = z.object({ max: z.number().nullable() });

/**
 * The status page's read models: one query per view (project list with
 * progress, the agents grid, cost rollups, a requirement).
 */
const UiProjectRow = z.object({
  id: z.string(),
  name: z.string(),
  git_url: z.string(),
  source: z.string(),
  phase: z.enum(PHASES),
  status: z.enum(PROJECT_STATUSES),
  status_reason: z.string().nullable(),
  cost_usd: z.number(),
  updated_at: z.date(),
  tokens_total: z.number(),
  tasks_total: z.number(),
  tasks_done: z.number(),
  tasks_running: z.number(),
  tasks_failed: z.number(),
  agents_active: z.number(),
});

/** Newest 500 projects with progress; archived ones only when asked for, or when one project is asked for by id. */
export async function uiProjects(
  db: Queryable,
  q: { includeArchived: boolean; id?: string | undefined },
): Promise<z.output<typeof UiProjectRow>[]> {
  return rows(
    db,
    UiProjectRow,
    sql`select p.id, p.name, p.git_url, p.source, p.phase, p.status, p.status_reason, p.cost_usd, p.updated_at,
               p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens as tokens_total,
               coalesce(t.total, 0)::int as tasks_total, coalesce(t.done, 0)::int as tasks_done,
               coalesce(t.running, 0)::int as tasks_running, coalesce(t.failed, 0)::int as tasks_failed,
               (select count(*) from agent_runs a where a.project_id = p.id and a.ended_at is null)::int as agents_active
          from projects p
          left join lateral (
            select count(*) as total,
                   count(*) filter (where status in ('completed', 'cancelled')) as done,
                   count(*) filter (where status = 'running') as running,
                   count(*) filter (where status in ('failed', 'dead_letter')) as failed
              from tasks where project_id = p.id) t on true
         ${where([!q.includeArchived && !q.id && sql`p.status <> 'archived'`, q.id && sql`p.id = ${q.id}`])}
         order by p.inserted_at desc, p.id desc limit 500`,
  );
}

const UiAgentRow = z.object({
  id: z.string(),
  project_id: z.string(),
  project_name: z.string(),
  agent_type: z.string(),
  status: z.string(),
  model: z.string().nullable(),
  node: z.string(),
  runner_id: z.string().nullable(),
  runner_host: z.string().nullable(),
  runner_name: z.string().nullable(),
  /** The runner's sandbox state (bubblewrap, off, unavailable); null for runs without a runner record. */
  runner_sandbox: z.string().nullable(),
  task_id: z.string().nullable(),
  task_key: z.string().nullable(),
  task_title: z.string().nullable(),
  rarv_loop: z.number().nullable(),
  attempt: z.number(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  started_at: z.date(),
  ended_at: z.date().nullable(),
  elapsed_ms: z.number(),
});

/**
 * The agents grid: runs with their task, project and runner. `active` lists
 * the runs that have not ended (newest first, up to `limit`) and the 20 that
 * ended last; otherwise, or for one run by id, every run newest first.
 */
export async function uiAgents(
  db: Queryable,
  q: { projectId?: string | undefined; id?: string | undefined; active: boolean; limit: number },
): Promise<z.output<typeof UiAgentRow>[]> {
  const filters = [q.projectId && sql`a.project_id = ${q.projectId}`, q.id && sql`a.id = ${q.id}`];
  const select = (condition: Sql) =>
    sql`select a.id, a.project_id, p.name as project_name, a.agent_type, a.status, a.model, a.node,
               a.runner_id, r.host as runner_host, r.name as runner_name, r.meta->'sandbox'->>'state' as runner_sandbox,
               a.current_task_id as task_id,
               t.key as task_key, t.title as task_title, t.rarv_loop, a.attempt, a.total_tokens, a.cost_usd,
               a.started_at, a.ended_at,
               (extract(epoch from coalesce(a.ended_at, now()) - a.started_at) * 1000)::float8 as elapsed_ms
          from agent_runs a
          join projects p on p.id = a.project_id
          left join runners r on r.id = a.runner_id
          left join tasks t on t.id = a.current_task_id
         ${where([condition, ...filters])}`;
  const query =
    q.active && !q.id
      ? sql`(${select(sql`a.ended_at is null`)} order by a.started_at desc limit ${q.limit})
            union all
            (${select(sql`a.ended_at is not null`)} order by a.ended_at desc limit 20)`
      : sql`${select(sql`true`)} order by a.started_at desc limit ${q.limit}`;
  return rows(db, UiAgentRow, query);
}

const CostRow = z.object({
  key: z.string(),
  cost_usd: z.number(),
  tokens: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
});
type CostRow = z.output<typeof CostRow>;

const SUMS = raw(`coalesce(sum(cost_usd), 0)::float8 as cost_usd,
  coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)::float8 as tokens,
  coalesce(sum(input_tokens), 0)::float8 as input_tokens, coalesce(sum(output_tokens), 0)::float8 as output_tokens`);

export interface UiCosts {
  total: CostRow;
  by_project: Array<CostRow & { name: string }>;
  by_phase: CostRow[];
  by_agent_type: CostRow[];
  by_day: CostRow[];
}

/**
 * Cost and tokens per project (their totals; archived ones left out), phase
 * and agent type (from tasks, phases in run order) and UTC day (agent runs by
 * start date, the last `days` days, empty days included). Everything when
 * `projectId` is null.
 */
export async function uiCosts(db: Queryable, q: { projectId: string | null; days: number }): Promise<UiCosts> {
  const pid = q.projectId;
  const [byProject, byPhase, byType, byDay] = await Promise.all([
    rows(
      db,
      CostRow.extend({ name: z.string() }),
      sql`select id::text as key, name, ${SUMS} from projects
           where (${pid}::uuid is null or id = ${pid}) and status <> 'archived'
           group by id order by 3 desc, name limit 100`,
    ),
    rows(
      db,
      CostRow,
      sql`select phase as key, ${SUMS} from tasks where (${pid}::uuid is null or project_id = ${pid}) group by phase`,
    ),
    rows(
      db,
      CostRow,
      sql`select agent_type as key, ${SUMS} from tasks where (${pid}::uuid is null or project_id = ${pid})
           group by agent_type order by 2 desc, 1 limit 40`,
    ),
    rows(
      db,
      CostRow,
      sql`select to_char(d.day, 'YYYY-MM-DD') as key,
                 coalesce(sum(a.cost_usd), 0)::float8 as cost_usd, coalesce(sum(a.total_tokens), 0)::float8 as tokens,
                 coalesce(sum(a.input_tokens), 0)::float8 as input_tokens,
                 coalesce(sum(a.output_tokens), 0)::float8 as output_tokens
            from generate_series((now() at time zone 'utc')::date - (${q.days}::int - 1), (now() at time zone 'utc')::date,
                                 interval '1 day') d(day)
            left join agent_runs a on (a.started_at at time zone 'utc')::date = d.day
                                  and (${pid}::uuid is null or a.project_id = ${pid})
           group by d.day order by d.day`,
    ),
  ]);
  const order = (k: string) => (PHASES as readonly string[]).indexOf(k);
  const total = byProject.reduce(
    (acc, r) => ({
      key: 'total',
      cost_usd: acc.cost_usd + r.cost_usd,
      tokens: acc.tokens + r.tokens,
      input_tokens: acc.input_tokens + r.input_tokens,
      output_tokens: acc.output_tokens + r.output_tokens,
    }),
    { key: 'total', cost_usd: 0, tokens: 0, input_tokens: 0, output_tokens: 0 },
  );
  return {
    total,
    by_project: byProject,
    by_phase: byPhase.sort((a, b) => order(a.key) - order(b.key)),
    by_agent_type: byType,
    by_day: byDay,
  };
}

const RequirementRow = z.object({
  id: z.string(),
  key: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  priority: z.string().nullable(),
  section_path: z.array(z.string()),
  line: z.number().nullable(),
  status: z.string(),
});

/** A requirement of a PRD (what a task was planned from). */
export async function readRequirement(db: Queryable, id: string): Promise<z.output<typeof RequirementRow> | null> {
  return maybeOne(
    db,
    RequirementRow,
    sql`select id, key, kind, title, body, priority, section_path, line, status from requirements where id = ${id}`,
  );
}

/**
 * The cluster-wide numbers /metrics reports, read at scrape time so every
 * server reports the same whichever one is scraped.
 */
const Count = z.object({ label: z.string(), n: z.number() });
type Count = z.output<typeof Count>;

/**
 * Queued tasks: ready (due now) and waiting (a delay, a concurrency cap or the
 * provider). From the domain table, not graphile-worker's: a task is queued iff it has a job.
 */
export async function queueDepth(db: Queryable): Promise<{ ready: number; waiting: number }> {
  return one(
    db,
    ReadyWaitingRow,
    sql`select count(*) filter (where run_after is null or run_after <= now())::int as ready,
               count(*) filter (where run_after > now())::int as waiting
          from tasks where status = 'queued'`,
  );
}

export async function tasksByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from tasks group by status`);
}

export async function projectsByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from projects group by status`);
}

export async function activeRunsByAgentType(db: Queryable): Promise<Count[]> {
  return rows(
    db,
    Count,
    sql`select agent_type as label, count(*)::int as n from agent_runs where ended_at is null group by agent_type`,
  );
}

export async function deliveriesByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from webhook_deliveries group by status`);
}

/** Tokens of all projects by kind (input, output, cache_read, cache_write). */
export async function tokenTotals(db: Queryable): Promise<Record<string, number>> {
  return one(
    db,
    InputOutputCacheReadMoreRow,
    sql`select coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output,
               coalesce(sum(cache_read_tokens), 0) as cache_read, coalesce(sum(cache_write_tokens), 0) as cache_write
          from projects`,
  );
}

export async function costTotal(db: Queryable): Promise<number> {
  const r = await one(db, CRow, sql`select coalesce(sum(cost_usd), 0)::float8 as c from projects`);
  return r.c;
}

/** Live runners (active or draining) and the seconds since their last heartbeat. */
export async function runnerHeartbeats(
  db: Queryable,
): Promise<Array<{ name: string; host: string; status: string; age: number }>> {
  return rows(
    db,
    NameHostStatusMoreRow,
    sql`select name, host, status, extract(epoch from now() - heartbeat_at)::float8 as age
          from runners where status in ('active', 'draining')`,
  );
}

/**
 * Finished tasks' durations: how many took at most each of `bucketsSec`
 * (cumulative, as Prometheus buckets are), how many in all, and their sum in seconds.
 */
export async function taskDurations(
  db: Queryable,
  bucketsSec: readonly number[],
): Promise<{ buckets: number[]; count: number; sumSeconds: number }> {
  const counts = join(bucketsSec.map((b) => sql`count(*) filter (where duration_ms <= ${b * 1000})::int`));
  const r = await one(
    db,
    BucketsNSRow,
    sql`select array[${counts}]::int[] as buckets, count(*)::int as n, coalesce(sum(duration_ms), 0)::float8 / 1000 as s
          from tasks where duration_ms is not null and status in ('completed', 'failed', 'dead_letter')`,
  );
  return { buckets: r.buckets, count: r.n, sumSeconds: r.s };
}

/** What the live progress view and the run summary read about a project. Reads only. */
const TaskLineRow = z.object({
  id: z.string(),
  key: z.string(),
  title: z.string(),
  phase: z.string(),
  agent_type: z.string(),
  status: z.string(),
  rarv_step: z.string().nullable(),
  attempts: z.number(),
  cost_usd: z.number(),
  tokens_used: z.number(),
  started_at: z.date().nullable(),
  run_after: z.date().nullable(),
  branch: z.string().nullable(),
  pr_number: z.number().nullable(),
  pr_url: z.string().nullable(),
  /** The merge queue's state (`waiting`: its pull request waits for review). */
  merge_state: z.string().nullable(),
  error: z.object({ message: z.string().optional() }).loose().nullable(),
  /** How verify judged the task: its result's once completed, else its last verify; null before any. */
  verify_status: z.unknown().transform(verifyStatusOf),
});
export type TaskLine = z.output<typeof TaskLineRow>;

const ProjectLineRow = z.object({
  id: z.string(),
  name: z.string(),
  phase: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  cost_usd: z.number(),
  tokens: z.number(),
  integration_branch: z.string().nullable(),
  integration_head: z.string().nullable(),
  /** The last whole-product verify (store/projects.ts IntegrationVerify), as stored. */
  integration_verify: z
    .object({
      head: z.string(),
      status: z.enum(['passed', 'failed', 'unverified']),
      commands: z.array(z.string()),
      summary: z.string(),
      at: z.string(),
    })
    .nullable(),
});
export type ProjectLineRow = z.output<typeof ProjectLineRow>;

export async function readProjectLine(db: Queryable, projectId: string): Promise<ProjectLineRow | null> {
  return maybeOne(
    db,
    ProjectLineRow,
    sql`select id, name, phase, status, status_reason, cost_usd::float8 as cost_usd,
               (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) as tokens,
               integration_branch, integration_head, integration_verify
          from projects where id = ${projectId}`,
  );
}

export async function readTaskLines(db: Queryable, projectId: string): Promise<TaskLine[]> {
  return rows(
    db,
    TaskLineRow,
    sql`select id, key, title, phase, agent_type, status, rarv_step, attempts, cost_usd::float8 as cost_usd, tokens_used,
               started_at, run_after, branch, pr_number, pr_url, merge_state, error,
               coalesce(result->'verify', checkpoint->'verify') as verify_status
          from tasks where project_id = ${projectId} order by priority, key`,
  );
}

/** Events after `afterId` a plain progress log shows: the project's own, and the provider's. */
export async function progressEvents(
  db: Queryable,
  projectId: string,
  afterId: number,
): Promise<{ id: number; kind: string; data: Record<string, unknown>; subject_id: string | null }[]> {
  return rows(
    db,
    IdKindDataMoreRow,
    sql`select id, kind, data, subject_id from events
         where (project_id = ${projectId} or (project_id is null and kind like 'provider.%')) and id > ${afterId}
         order by id`,
  );
}

export async function lastEventId(db: Queryable): Promise<number> {
  const r = await maybeOne(db, MaxRow, sql`select max(id) as max from events`);
  return r?.max ?? 0;
}

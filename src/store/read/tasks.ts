import { z } from 'zod';
import { PHASES, TASK_STATUSES, type TaskStatus } from '../../domain/states.js';
import { kindCondition, maybeOne, type Queryable, raw, rows, sql, where } from '../connection.js';

const ExistsRow = z.object({});
const IdRow = z.object({ id: z.string() });
const EndedRow = z.object({ ended: z.boolean() });

/** What the API and the status page read of tasks. */
const COLUMNS = raw(`id, project_id, parent_task_id, requirement_id, key, title, type, phase, agent_type,
  priority, status, attempts, max_attempts, rarv_step, branch, pr_number, pr_url, tokens_used, cost_usd, queued_at,
  started_at, completed_at, duration_ms, inserted_at, updated_at, merge_state, merge_note, integrated_sha`);

export const TaskRow = z.object({
  id: z.string(),
  project_id: z.string(),
  parent_task_id: z.string().nullable(),
  requirement_id: z.string().nullable(),
  key: z.string(),
  title: z.string(),
  type: z.string(),
  phase: z.enum(PHASES),
  agent_type: z.string(),
  priority: z.number(),
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  max_attempts: z.number(),
  rarv_step: z.string().nullable(),
  branch: z.string().nullable(),
  pr_number: z.number().nullable(),
  pr_url: z.string().nullable(),
  tokens_used: z.number(),
  cost_usd: z.number(),
  queued_at: z.date().nullable(),
  started_at: z.date().nullable(),
  completed_at: z.date().nullable(),
  duration_ms: z.number().nullable(),
  inserted_at: z.date(),
  updated_at: z.date(),
  merge_state: z.string().nullable(),
  merge_note: z.string().nullable(),
  integrated_sha: z.string().nullable(),
});
export type TaskRow = z.output<typeof TaskRow>;

/** A project's tasks by (priority, id), keyset-paginated; fetches one row past `limit` to tell if more follow. */
export async function listTasks(
  db: Queryable,
  projectId: string,
  q: {
    limit: number;
    status?: TaskStatus | undefined;
    phase?: string | undefined;
    agentType?: string | undefined;
    after: readonly unknown[] | null;
  },
): Promise<TaskRow[]> {
  const after = q.after;
  return rows(
    db,
    TaskRow,
    sql`select ${COLUMNS} from tasks
        ${where([
          sql`project_id = ${projectId}`,
          q.status && sql`status = ${q.status}`,
          q.phase && sql`phase = ${q.phase}`,
          q.agentType && sql`agent_type = ${q.agentType}`,
          after && sql`(priority, id) > (${after[0]}::int, ${after[1]}::uuid)`,
        ])}
         order by priority, id limit ${q.limit + 1}`,
  );
}

export async function taskInProject(db: Queryable, projectId: string, taskId: string): Promise<boolean> {
  const row = await maybeOne(
    db,
    ExistsRow,
    sql`select 1 from tasks where id = ${taskId} and project_id = ${projectId}`,
  );
  return row !== null;
}

const DetailRow = TaskRow.extend({
  description: z.string(),
  payload: z.unknown(),
  result: z.unknown(),
  error: z.unknown(),
  head_sha: z.string().nullable(),
  session_id: z.string().nullable(),
  rarv_loop: z.number(),
  dependencies: z.array(z.object({ id: z.string(), key: z.string(), title: z.string(), status: z.string() })),
});

const RarvStepRow = z.object({
  id: z.number(),
  agent_run_id: z.string(),
  loop: z.number(),
  step: z.string(),
  status: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number(),
  started_at: z.date(),
  ended_at: z.date().nullable(),
});

export type TaskDetail = z.output<typeof DetailRow> & {
  rarv_steps: z.output<typeof RarvStepRow>[];
  agent_runs: AgentRunRow[];
};

/** A task of the project with its dependencies, RARV steps and agent runs; null when there is none. */
export async function readTaskDetail(db: Queryable, projectId: string, taskId: string): Promise<TaskDetail | null> {
  const task = await maybeOne(
    db,
    DetailRow,
    sql`select ${COLUMNS}, description, payload, result, error, head_sha, session_id, rarv_loop,
          coalesce((select json_agg(json_build_object('id', d.id, 'key', d.key, 'title', d.title, 'status', d.status)
                    order by d.priority, d.id)
                    from task_dependencies td join tasks d on d.id = td.depends_on where td.task_id = t.id), '[]') as dependencies
        from tasks t where id = ${taskId} and project_id = ${projectId}`,
  );
  if (!task) return null;
  const [steps, runs] = await Promise.all([
    rows(
      db,
      RarvStepRow,
      sql`select id, agent_run_id, loop, step, status, input, output, input_tokens, output_tokens, cost_usd,
                 started_at, ended_at
            from rarv_steps where task_id = ${taskId} order by id`,
    ),
    agentRunsOfTask(db, taskId),
  ]);
  return { ...task, rarv_steps: steps, agent_runs: runs };
}

/** Tasks not yet started (pending, queued, blocked): the ones with a job to remove, or soon one. */
export async function openTaskIds(db: Queryable, projectId: string): Promise<string[]> {
  const open = await rows(
    db,
    IdRow,
    sql`select id from tasks where project_id = ${projectId} and status in ('pending', 'queued', 'blocked')`,
  );
  return open.map((r) => r.id);
}

/** What the API and the status page read of agent runs and their logs. */
const RUN_COLUMNS = raw(`id, project_id, current_task_id, runner_id, agent_type, node, pid, model, attempt, status,
  session_id, total_tasks, input_tokens, output_tokens, total_tokens, cost_usd, total_duration_ms, error, started_at, ended_at`);

export const AgentRunRow = z.object({
  id: z.string(),
  project_id: z.string(),
  current_task_id: z.string().nullable(),
  runner_id: z.string().nullable(),
  agent_type: z.string(),
  node: z.string(),
  pid: z.string().nullable(),
  model: z.string().nullable(),
  attempt: z.number(),
  status: z.string(),
  session_id: z.string().nullable(),
  total_tasks: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  total_duration_ms: z.number(),
  error: z.unknown(),
  started_at: z.date(),
  ended_at: z.date().nullable(),
});
export type AgentRunRow = z.output<typeof AgentRunRow>;

/** A project's runs that have not ended, oldest first. */
export async function activeAgentRuns(db: Queryable, projectId: string): Promise<AgentRunRow[]> {
  return rows(
    db,
    AgentRunRow,
    sql`select ${RUN_COLUMNS} from agent_runs where project_id = ${projectId} and ended_at is null order by started_at`,
  );
}

export async function readAgentRun(db: Queryable, id: string): Promise<AgentRunRow | null> {
  return maybeOne(db, AgentRunRow, sql`select ${RUN_COLUMNS} from agent_runs where id = ${id}`);
}

/** Every run that worked on a task, in the order they started. */
export async function agentRunsOfTask(db: Queryable, taskId: string): Promise<AgentRunRow[]> {
  return rows(
    db,
    AgentRunRow,
    sql`select ${RUN_COLUMNS} from agent_runs where current_task_id = ${taskId} order by started_at`,
  );
}

/** Whether the run has ended; null when there is no such run. */
export async function agentRunEnded(db: Queryable, id: string): Promise<boolean | null> {
  const row = await maybeOne(db, EndedRow, sql`select ended_at is not null as ended from agent_runs where id = ${id}`);
  return row?.ended ?? null;
}

export const LogLine = z.object({ id: z.number(), stream: z.string(), line: z.string(), inserted_at: z.date() });
export type LogLine = z.output<typeof LogLine>;

/** Up to `limit` log lines of a run after line `after`, in order (the SSE stream reads on from the last id). */
export async function readAgentLogs(db: Queryable, runId: string, after: number, limit: number): Promise<LogLine[]> {
  return rows(
    db,
    LogLine,
    sql`select id, stream, line, inserted_at from agent_logs where agent_run_id = ${runId} and id > ${after}
         order by id limit ${limit}`,
  );
}

/** What the API reads of artifacts. */
const ARTIFACT_COLUMNS = raw('id, project_id, task_id, type, path, content_hash, metadata, inserted_at');

export const ArtifactRow = z.object({
  id: z.string(),
  project_id: z.string(),
  task_id: z.string().nullable(),
  type: z.string(),
  path: z.string(),
  content_hash: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  inserted_at: z.date(),
});

/** `_ts` is inserted_at as PostgreSQL prints it: microseconds survive the round trip through a cursor. */
const ListedArtifactRow = ArtifactRow.extend({ _ts: z.string() });

/** A project's artifacts without content, newest first; fetches one row past `limit` to tell if more follow. */
export async function listArtifacts(
  db: Queryable,
  projectId: string,
  q: { limit: number; type?: string | undefined; taskId?: string | undefined; after: readonly unknown[] | null },
): Promise<z.output<typeof ListedArtifactRow>[]> {
  const after = q.after;
  return rows(
    db,
    ListedArtifactRow,
    sql`select ${ARTIFACT_COLUMNS}, inserted_at::text as _ts from artifacts
        ${where([
          sql`project_id = ${projectId}`,
          q.type && sql`type = ${q.type}`,
          q.taskId && sql`task_id = ${q.taskId}`,
          after && sql`(inserted_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`,
        ])}
         order by inserted_at desc, id desc limit ${q.limit + 1}`,
  );
}

const ArtifactDetailRow = ArtifactRow.extend({ content: z.string().nullable() });

export async function readArtifact(db: Queryable, id: string): Promise<z.output<typeof ArtifactDetailRow> | null> {
  return maybeOne(db, ArtifactDetailRow, sql`select ${ARTIFACT_COLUMNS}, content from artifacts where id = ${id}`);
}

/** What the API, its SSE streams and the status page read of the audit log. */
const EVENT_COLUMNS = raw('id, project_id, kind, subject_type, subject_id, actor_type, actor_id, data, created_at');

export const EventRow = z.object({
  id: z.number(),
  project_id: z.string().nullable(),
  kind: z.string(),
  subject_type: z.string(),
  subject_id: z.string().nullable(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  created_at: z.date(),
});
export type EventRow = z.output<typeof EventRow>;

export interface EventFilter {
  projectId?: string | undefined;
  /** Exact, or a prefix ending in `.*`. */
  kind?: string | undefined;
}

/**
 * History by id, newest first unless `order` is asc, keyset-paginated on id;
 * fetches one row past `limit` to tell if more follow.
 */
export async function listEvents(
  db: Queryable,
  q: EventFilter & {
    actorId?: string | undefined;
    order: 'asc' | 'desc';
    limit: number;
    afterId: number | null;
  },
): Promise<EventRow[]> {
  const asc = q.order === 'asc';
  return rows(
    db,
    EventRow,
    sql`select ${EVENT_COLUMNS} from events
        ${where([
          q.projectId && sql`project_id = ${q.projectId}`,
          q.kind && kindCondition(q.kind),
          q.actorId && sql`actor_id = ${q.actorId}`,
          q.afterId !== null && (asc ? sql`id > ${q.afterId}` : sql`id < ${q.afterId}`),
        ])}
         order by id ${asc ? raw('asc') : raw('desc')} limit ${q.limit + 1}`,
  );
}

/** Up to `limit` events after `afterId`, oldest first: what a reconnecting stream missed. */
export async function eventsAfter(db: Queryable, afterId: number, filter: EventFilter, limit: number) {
  return rows(
    db,
    EventRow,
    sql`select ${EVENT_COLUMNS} from events
        ${where([
          sql`id > ${afterId}`,
          filter.projectId && sql`project_id = ${filter.projectId}`,
          filter.kind && kindCondition(filter.kind),
        ])}
         order by id limit ${limit}`,
  );
}

export async function readEvent(db: Queryable, id: number): Promise<EventRow | null> {
  return maybeOne(db, EventRow, sql`select ${EVENT_COLUMNS} from events where id = ${id}`);
}

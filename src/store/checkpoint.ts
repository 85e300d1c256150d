/**
 * The project as a checkpoint (src/checkpoint/document.ts): read out of the
 * database in one snapshot-consistent transaction, and written back wholesale —
 * into a new project (import) or over an existing one (restore). The only
 * writes that create a project's plan from something other than a PRD.
 * Tasks keep their ids, so the `Samgita-Task` trailers of their commits still
 * name them on another machine.
 */
import { z } from 'zod';
import {
  type ProjectState,
  StateMemorySchema,
  type StateOwner,
  StateProjectSchema,
  StateRequirementSchema,
  type StateTask,
  StateTaskSchema,
} from '../checkpoint/document.js';
import { removeTaskJobs } from '../queue/jobs.js';
import {
  exec,
  maybeOne,
  one,
  type Pool,
  type PoolClient,
  type Queryable,
  rows,
  sql,
  withTransaction,
} from './connection.js';
import { type Actor, recordEvent } from './events.js';

const IdRow = z.object({ id: z.string() });
const MarkRow = z.object({ mark: z.string().nullable() });
const CountRow = z.object({ n: z.number() });
const CommitShaRow = z.object({ commit_sha: z.string().nullable() });

/** This database's deployment id, made on first use. */
export async function deploymentId(db: Queryable): Promise<string> {
  await exec(db, sql`insert into deployment default values on conflict (singleton) do nothing`);
  return (await one(db, IdRow, sql`select id from deployment`)).id;
}

const json = z.record(z.string(), z.unknown());

/** The project as the state document describes it; null when it does not exist. */
export async function readProjectState(
  db: Queryable,
  projectId: string,
  owner: StateOwner,
  now: Date,
): Promise<ProjectState | null> {
  const p = await maybeOne(
    db,
    StateProjectSchema.extend({
      cost_usd: z.number(),
      input_tokens: z.number(),
      output_tokens: z.number(),
      cache_read_tokens: z.number(),
      cache_write_tokens: z.number(),
      rev_commit: z.string().nullable(),
      rev_content_hash: z.string().nullable(),
      rev_config_hash: z.string().nullable(),
      rev_source: z.string().nullable(),
      rev_content: z.string().nullable(),
      rev_config: json.nullable(),
    }),
    sql`select p.id, p.name, p.git_url, p.default_branch, p.source, p.github_repo, p.phase, p.status, p.status_reason,
               p.perpetual_cycle, p.integration_branch, p.integration_head, p.integration_verify, p.config,
               p.cost_usd::float8 as cost_usd, p.input_tokens, p.output_tokens, p.cache_read_tokens, p.cache_write_tokens,
               r.commit_sha as rev_commit, r.content_hash as rev_content_hash, r.config_hash as rev_config_hash,
               r.source as rev_source, r.content as rev_content, r.config as rev_config
          from projects p left join prd_revisions r on r.id = p.current_revision_id
         where p.id = ${projectId}`,
  );
  if (!p) return null;
  const {
    cost_usd,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    rev_commit,
    rev_content_hash,
    rev_config_hash,
    rev_source,
    rev_content,
    rev_config,
    ...project
  } = p;
  const requirements = await rows(
    db,
    StateRequirementSchema,
    sql`select key, kind, title, body, priority, section_path, line, content_hash, status
          from requirements where project_id = ${projectId} order by key`,
  );
  const tasks = await rows(
    db,
    StateTaskSchema,
    sql`select t.id, t.key, pt.key as parent_key, r.key as requirement_key, t.title, t.description, t.type, t.phase,
               t.agent_type, t.priority, t.status,
               coalesce((select array_agg(dt.key order by dt.key) from task_dependencies d
                           join tasks dt on dt.id = d.depends_on where d.task_id = t.id), '{}') as depends_on,
               t.payload, t.result, t.error, t.requirement_hash, t.attempts, t.max_attempts, t.rarv_step, t.rarv_loop,
               t.checkpoint, t.session_id, t.branch, t.head_sha, t.pr_number, t.pr_url, t.merge_state, t.merge_note,
               t.integrated_sha,
               json_build_object('input', t.input_tokens, 'output', t.output_tokens, 'cache_read', t.cache_read_tokens,
                                 'cache_write', t.cache_write_tokens) as tokens,
               t.cost_usd::float8 as cost_usd, to_json(t.started_at) #>> '{}' as started_at,
               to_json(t.completed_at) #>> '{}' as completed_at, t.duration_ms
          from tasks t
          left join tasks pt on pt.id = t.parent_task_id
          left join requirements r on r.id = t.requirement_id
         where t.project_id = ${projectId}
         order by t.phase, t.priority, t.key`,
  );
  const memories = await rows(
    db,
    StateMemorySchema,
    sql`select t.key as task_key, m.type, m.content, m.importance, to_json(m.inserted_at) #>> '{}' as inserted_at
          from memories m left join tasks t on t.id = m.task_id
         where m.project_id = ${projectId} order by m.inserted_at, m.id`,
  );
  return {
    written_at: now.toISOString(),
    owner,
    project,
    revision:
      rev_content_hash === null
        ? null
        : {
            commit_sha: rev_commit,
            content_hash: rev_content_hash,
            config_hash: rev_config_hash ?? '',
            source: rev_source ?? 'git',
            prd: rev_content ?? '',
            config: rev_config ?? {},
          },
    requirements,
    tasks,
    memories,
    cost: {
      usd: cost_usd,
      tokens: {
        input: input_tokens,
        output: output_tokens,
        cache_read: cache_read_tokens,
        cache_write: cache_write_tokens,
      },
    },
  };
}

/**
 * A cheap mark of everything the state holds: equal marks, equal states (the
 * last event, the newest task, project and memory writes). One index lookup each.
 */
export async function stateMark(db: Queryable, projectId: string): Promise<string> {
  const r = await one(
    db,
    MarkRow,
    sql`select concat_ws('/',
              (select max(id) from events where project_id = ${projectId}),
              (select max(updated_at)::text from tasks where project_id = ${projectId}),
              (select updated_at::text from projects where id = ${projectId}),
              (select count(*) || ':' || coalesce(max(inserted_at)::text, '') from memories where project_id = ${projectId})
            ) as mark`,
  );
  return r.mark ?? '';
}

/** readProjectState with every table read at the same instant (one repeatable-read, read-only transaction). */
export function readProjectStateAtOnce(
  pool: Pool,
  projectId: string,
  owner: StateOwner,
  now: Date,
): Promise<ProjectState | null> {
  return withTransaction(pool, async (db) => {
    await db.query('set transaction isolation level repeatable read, read only');
    return readProjectState(db, projectId, owner, now);
  });
}

/**
 * A task that was queued or running when the state was written has no job and
 * no live agent here: pending, so the next advance queues it and a runner
 * resumes it at its RARV step on its branch.
 */
function statusHere(status: string): string {
  return status === 'queued' || status === 'running' ? 'pending' : status;
}

/** Writes the state's plan into `projectId` (new: import; existing and not running: restore). */
export async function writeProjectState(
  db: PoolClient,
  projectId: string,
  state: ProjectState,
  opts: { replace: boolean; actor: Actor },
): Promise<{ tasks: number; memories: number; cancelled: number }> {
  const revisionId = state.revision ? await upsertRevision(db, projectId, state.revision) : null;
  await exec(
    db,
    sql`update projects set phase = ${state.project.phase}, perpetual_cycle = ${state.project.perpetual_cycle},
               integration_branch = ${state.project.integration_branch},
               integration_head = ${state.project.integration_head},
               integration_verify = ${state.project.integration_verify === null ? null : JSON.stringify(state.project.integration_verify)},
               config = ${JSON.stringify(state.project.config)},
               current_revision_id = coalesce(${revisionId}::uuid, current_revision_id),
               prd_content = coalesce(${state.revision?.prd ?? null}, prd_content),
               default_branch = coalesce(default_branch, ${state.project.default_branch}),
               github_repo = coalesce(github_repo, ${state.project.github_repo}),
               updated_at = now()
         where id = ${projectId}`,
  );
  if (!opts.replace) {
    // Spend so far travels with the project; a restore keeps what was really spent since.
    await exec(
      db,
      sql`update projects set cost_usd = ${state.cost.usd}, input_tokens = ${state.cost.tokens.input},
                 output_tokens = ${state.cost.tokens.output}, cache_read_tokens = ${state.cost.tokens.cache_read},
                 cache_write_tokens = ${state.cost.tokens.cache_write}
           where id = ${projectId}`,
    );
  }
  await upsertRequirements(db, projectId, state, revisionId);
  let cancelled = 0;
  if (opts.replace) {
    const ids = (await rows(db, IdRow, sql`select id from tasks where project_id = ${projectId}`)).map((r) => r.id);
    await removeTaskJobs(db, ids);
    const keep = state.tasks.map((t) => t.key);
    cancelled = await exec(
      db,
      sql`update tasks set status = 'cancelled', completed_at = coalesce(completed_at, now()), updated_at = now(),
                 error = ${JSON.stringify({ message: 'not in the restored snapshot', kind: 'restored', at: new Date().toISOString() })}
           where project_id = ${projectId} and not (key = any(${keep})) and status <> 'cancelled'`,
    );
  }
  for (const t of state.tasks) await upsertTask(db, projectId, t);
  await exec(
    db,
    sql`delete from task_dependencies d using tasks t where t.id = d.task_id and t.project_id = ${projectId}`,
  );
  for (const t of state.tasks) {
    if (!t.depends_on.length && !t.parent_key) continue;
    await exec(
      db,
      sql`insert into task_dependencies (task_id, depends_on)
          select t.id, d.id from tasks t join tasks d on d.project_id = t.project_id and d.key = any(${t.depends_on})
           where t.project_id = ${projectId} and t.key = ${t.key}
          on conflict do nothing`,
    );
    if (t.parent_key)
      await exec(
        db,
        sql`update tasks t set parent_task_id = p.id from tasks p
             where t.project_id = ${projectId} and t.key = ${t.key} and p.project_id = t.project_id and p.key = ${t.parent_key}`,
      );
  }
  if (opts.replace) return { tasks: state.tasks.length, memories: 0, cancelled };
  // Memories are knowledge, not plan: a restore keeps what was learned since.
  const memories = await insertMemories(db, projectId, state);
  await recordEvent(db, {
    projectId,
    kind: 'project.imported',
    subjectType: 'project',
    subjectId: projectId,
    actor: opts.actor,
    data: { written_at: state.written_at, tasks: state.tasks.length, memories, from: state.owner },
  });
  return { tasks: state.tasks.length, memories, cancelled };
}

async function upsertRevision(
  db: Queryable,
  projectId: string,
  r: NonNullable<ProjectState['revision']>,
): Promise<string> {
  const found = await maybeOne(
    db,
    IdRow,
    sql`select id from prd_revisions
         where project_id = ${projectId} and commit_sha is not distinct from ${r.commit_sha}
           and content_hash = ${r.content_hash} and config_hash = ${r.config_hash}
         order by inserted_at desc limit 1`,
  );
  if (found) return found.id;
  const source = ['git', 'api', 'upload', 'github', 'breakdown'].includes(r.source) ? r.source : 'git';
  return (
    await one(
      db,
      IdRow,
      sql`insert into prd_revisions (project_id, commit_sha, content, content_hash, config, config_hash, source)
          values (${projectId}, ${r.commit_sha}, ${r.prd}, ${r.content_hash}, ${JSON.stringify(r.config)}, ${r.config_hash}, ${source})
          returning id`,
    )
  ).id;
}

async function upsertRequirements(
  db: Queryable,
  projectId: string,
  state: ProjectState,
  revisionId: string | null,
): Promise<void> {
  if (state.requirements.length)
    await exec(
      db,
      sql`insert into requirements (project_id, key, kind, title, body, priority, section_path, line, content_hash, status,
                                    first_revision_id, last_revision_id)
          select ${projectId}, r.key, r.kind, r.title, r.body, r.priority, r.section_path, r.line, r.content_hash, r.status,
                 ${revisionId}::uuid, ${revisionId}::uuid
            from jsonb_to_recordset(${JSON.stringify(state.requirements)}::jsonb)
                   as r(key text, kind text, title text, body text, priority text, section_path text[], line int,
                        content_hash text, status text)
          on conflict (project_id, key) do update
            set kind = excluded.kind, title = excluded.title, body = excluded.body, priority = excluded.priority,
                section_path = excluded.section_path, line = excluded.line, content_hash = excluded.content_hash,
                status = excluded.status, last_revision_id = coalesce(excluded.last_revision_id, requirements.last_revision_id),
                updated_at = now()`,
    );
  const keys = state.requirements.map((r) => r.key);
  await exec(
    db,
    sql`update requirements set status = 'removed', updated_at = now()
         where project_id = ${projectId} and not (key = any(${keys})) and status <> 'removed'`,
  );
}

async function upsertTask(db: Queryable, projectId: string, t: StateTask): Promise<void> {
  const status = statusHere(t.status);
  const j = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  await exec(
    db,
    sql`insert into tasks (id, project_id, requirement_id, key, title, description, type, phase, agent_type, priority,
                           status, payload, result, error, requirement_hash, attempts, max_attempts, rarv_step, rarv_loop,
                           checkpoint, session_id, branch, head_sha, pr_number, pr_url, merge_state, merge_note,
                           integrated_sha, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
                           started_at, completed_at, duration_ms)
        values (${t.id}, ${projectId},
                (select id from requirements where project_id = ${projectId} and key = ${t.requirement_key}),
                ${t.key}, ${t.title}, ${t.description}, ${t.type}, ${t.phase}, ${t.agent_type}, ${t.priority},
                ${status}, ${j(t.payload)}, ${j(t.result)}, ${j(t.error)}, ${t.requirement_hash}, ${t.attempts},
                ${t.max_attempts}, ${t.rarv_step}, ${t.rarv_loop}, ${j(t.checkpoint)}, ${t.session_id}, ${t.branch},
                ${t.head_sha}, ${t.pr_number}, ${t.pr_url}, ${t.merge_state}, ${t.merge_note}, ${t.integrated_sha},
                ${t.tokens.input}, ${t.tokens.output}, ${t.tokens.cache_read}, ${t.tokens.cache_write}, ${t.cost_usd},
                ${t.started_at}, ${t.completed_at}, ${t.duration_ms})
        on conflict (project_id, key) do update
          set requirement_id = excluded.requirement_id, title = excluded.title, description = excluded.description,
              type = excluded.type, phase = excluded.phase, agent_type = excluded.agent_type, priority = excluded.priority,
              status = excluded.status, payload = excluded.payload, result = excluded.result, error = excluded.error,
              requirement_hash = excluded.requirement_hash, attempts = excluded.attempts,
              max_attempts = excluded.max_attempts, rarv_step = excluded.rarv_step, rarv_loop = excluded.rarv_loop,
              checkpoint = excluded.checkpoint, session_id = excluded.session_id, branch = excluded.branch,
              head_sha = excluded.head_sha, pr_number = excluded.pr_number, pr_url = excluded.pr_url,
              merge_state = excluded.merge_state, merge_note = excluded.merge_note,
              integrated_sha = excluded.integrated_sha, completed_at = excluded.completed_at,
              waiting_for = null, cap_waits = 0, run_after = null, updated_at = now()`,
  );
}

async function insertMemories(db: Queryable, projectId: string, state: ProjectState): Promise<number> {
  if (!state.memories.length) return 0;
  return exec(
    db,
    sql`insert into memories (project_id, task_id, type, content, importance, inserted_at)
        select ${projectId}, t.id, m.type, m.content, m.importance, m.inserted_at
          from jsonb_to_recordset(${JSON.stringify(state.memories)}::jsonb)
                 as m(task_key text, type text, content text, importance float8, inserted_at timestamptz)
          left join tasks t on t.project_id = ${projectId} and t.key = m.task_key
        on conflict do nothing`,
  );
}

/** How many of these task ids a project here already has (the state was imported into this database before). */
export async function takenTaskIds(db: Queryable, ids: readonly string[]): Promise<number> {
  const r = await one(db, CountRow, sql`select count(*)::int as n from tasks where id = any(${ids}::uuid[])`);
  return r.n;
}

/** The state commit a snapshot row wrote (null: none, or no such snapshot of the project). */
export async function snapshotCommit(db: Queryable, projectId: string, snapshotId: string): Promise<string | null> {
  const r = await maybeOne(
    db,
    CommitShaRow,
    sql`select commit_sha from snapshots where project_id = ${projectId} and id = ${snapshotId}`,
  );
  return r?.commit_sha ?? null;
}

/** Records the state commit a snapshot wrote. */
export async function recordSnapshotCommit(db: Queryable, snapshotId: string, commitSha: string | null): Promise<void> {
  await exec(db, sql`update snapshots set commit_sha = ${commitSha} where id = ${snapshotId}`);
}

/**
 * What planning writes: the requirements of each PRD revision, the tasks and
 * dependencies a reconciled plan creates or changes, and the agent-produced
 * work breakdowns it may merge.
 */
import { z } from 'zod';
import type { EventKind } from '../domain/events.js';
import { CANCELLED_HASH, type RecordedTask } from '../planner/diff.js';
import type { Requirement } from '../prd/types.js';
import { removeTaskJobs } from '../queue/jobs.js';
import { maybeOne, one, type PoolClient, type Queryable, sql } from './connection.js';
import { type Actor, recordEvent } from './events.js';

const IdRow = z.object({ id: z.string() });
const IdCreatedRow = z.object({ id: z.string(), created: z.boolean() });

/** The requirements record: the FR rows and sections of each PRD revision, by stable key. */
/**
 * Stores requirements of a PRD revision: upserted by key, marked removed when
 * they vanish. Returns which keys changed or disappeared since the last revision.
 */
export async function upsertRequirements(
  db: PoolClient,
  projectId: string,
  revisionId: string,
  requirements: readonly Requirement[],
): Promise<{ changed: string[]; removed: string[]; added: string[] }> {
  const before = await db.query<{ key: string; content_hash: string; status: string }>(
    'select key, content_hash, status from requirements where project_id = $1',
    [projectId],
  );
  const old = new Map(before.rows.map((r) => [r.key, r]));
  const changed: string[] = [];
  const added: string[] = [];
  for (const r of requirements) {
    const prev = old.get(r.key);
    if (!prev || prev.status === 'removed') added.push(r.key);
    else if (prev.content_hash !== r.contentHash) changed.push(r.key);
  }
  if (requirements.length) {
    await db.query(
      `insert into requirements (project_id, key, kind, title, body, priority, section_path, line, content_hash,
                                 first_revision_id, last_revision_id)
       select $1, r.key, r.kind, r.title, r.body, r.priority, r.section_path, r.line, r.content_hash, $2, $2
         from jsonb_to_recordset($3::jsonb) as r(key text, kind text, title text, body text, priority text,
                                                 section_path text[], line int, content_hash text)
       on conflict (project_id, key) do update set
         kind = excluded.kind, title = excluded.title, body = excluded.body, priority = excluded.priority,
         section_path = excluded.section_path, line = excluded.line, content_hash = excluded.content_hash,
         status = 'active', last_revision_id = excluded.last_revision_id,
         updated_at = case when requirements.content_hash <> excluded.content_hash or requirements.status <> 'active'
                           then now() else requirements.updated_at end`,
      [
        projectId,
        revisionId,
        JSON.stringify(
          requirements.map((r) => ({
            key: r.key,
            kind: r.kind,
            title: r.title.slice(0, 500),
            body: r.text,
            priority: r.priority,
            section_path: r.sectionPath,
            line: r.line,
            content_hash: r.contentHash,
          })),
        ),
      ],
    );
  }
  const keys = requirements.map((r) => r.key);
  const removedRows = await db.query<{ key: string }>(
    `update requirements set status = 'removed', updated_at = now()
      where project_id = $1 and status = 'active' and not (key = any($2::text[])) returning key`,
    [projectId, keys],
  );
  return { changed, removed: removedRows.rows.map((r) => r.key), added };
}

/** Requirement keys added, changed and removed relative to what is recorded. Reads only. */
export async function requirementDiff(
  db: Queryable,
  projectId: string,
  requirements: readonly { key: string; contentHash: string }[],
): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
  const { rows } = await db.query<{ key: string; content_hash: string; status: string }>(
    'select key, content_hash, status from requirements where project_id = $1',
    [projectId],
  );
  const old = new Map(rows.map((r) => [r.key, r]));
  const now = new Set(requirements.map((r) => r.key));
  const added: string[] = [];
  const changed: string[] = [];
  for (const r of requirements) {
    const prev = old.get(r.key);
    if (!prev || prev.status === 'removed') added.push(r.key);
    else if (prev.content_hash !== r.contentHash) changed.push(r.key);
  }
  const removed = rows.filter((r) => r.status === 'active' && !now.has(r.key)).map((r) => r.key);
  return { added, changed, removed };
}

/**
 * The tasks record's side of planning: applying a reconciled plan change
 * (create, update, restart, reopen, cancel, dependencies) and reading back what
 * is recorded for the next diff.
 */

/** The part of a planned task that is stored (structurally matches the planner's PlannedTask). */
export interface TaskSpec {
  key: string;
  title: string;
  description: string;
  phase: string;
  agentType: string;
  priority: number;
  kind: string;
  requirementKey: string | null;
  requirementHash: string | null;
  dependsOn: readonly string[];
  acceptanceCriteria: readonly string[];
  areas: readonly string[];
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  restarted: string[];
  reopened: string[];
  cancelled: string[];
  requirementsChanged: string[];
  requirementsRemoved: string[];
}

export interface PlanChange {
  create: TaskSpec[];
  /** Not yet running: new text in place. */
  update: TaskSpec[];
  /** Running: new text, back to pending so the agent restarts with it. */
  restart: TaskSpec[];
  /** Finished (completed, failed, dead-lettered or cancelled), but its requirement changed: run again. */
  reopen: TaskSpec[];
  cancel: string[];
}

function taskParams(t: TaskSpec) {
  return {
    key: t.key,
    title: t.title.slice(0, 500),
    description: t.description,
    type: t.kind,
    phase: t.phase,
    agent_type: t.agentType,
    priority: Math.max(0, Math.round(t.priority)),
    requirement_key: t.requirementKey,
    requirement_hash: t.requirementHash,
    payload: { acceptanceCriteria: t.acceptanceCriteria, areas: t.areas },
  };
}

/**
 * Applies a reconciled plan change to the tasks table in one transaction with
 * the requirement updates, recording an event per change. Creating is
 * idempotent by (project, key): applying the same change twice adds nothing.
 */
export async function applyPlanChange(
  db: PoolClient,
  projectId: string,
  change: PlanChange,
  allTasks: readonly TaskSpec[],
  actor: Actor,
): Promise<Omit<ApplyResult, 'requirementsChanged' | 'requirementsRemoved'>> {
  const result = {
    created: [] as string[],
    updated: [] as string[],
    restarted: [] as string[],
    reopened: [] as string[],
    cancelled: [] as string[],
  };
  if (change.create.length) {
    const inserted = await db.query<{ id: string; key: string }>(
      `insert into tasks (project_id, key, title, description, type, phase, agent_type, priority, requirement_id,
                          requirement_hash, payload)
       select $1, t.key, t.title, t.description, t.type, t.phase, t.agent_type, t.priority,
              (select id from requirements where project_id = $1 and key = t.requirement_key),
              t.requirement_hash, t.payload
         from jsonb_to_recordset($2::jsonb) as t(key text, title text, description text, type text, phase text,
              agent_type text, priority int, requirement_key text, requirement_hash text, payload jsonb)
       on conflict (project_id, key) do nothing
       returning id, key`,
      [projectId, JSON.stringify(change.create.map(taskParams))],
    );
    result.created = inserted.rows.map((r) => r.key);
    for (const r of inserted.rows) {
      await recordEvent(db, {
        projectId,
        kind: 'task.created',
        subjectType: 'task',
        subjectId: r.id,
        actor,
        data: { key: r.key },
      });
    }
  }
  const rewrite = async (
    specs: TaskSpec[],
    fromStatuses: string[],
    toStatus: string | null,
    kind: EventKind,
    into: string[],
  ) => {
    for (const t of specs) {
      const p = taskParams(t);
      const { rows } = await db.query<{ id: string }>(
        `update tasks set title = $3, description = $4, type = $5, phase = $6, agent_type = $7, priority = $8,
                requirement_hash = $9, payload = payload || $10::jsonb,
                status = coalesce($12, status),
                rarv_step = case when $12::text is null then rarv_step else null end,
                rarv_loop = case when $12::text is null then rarv_loop else 0 end,
                attempts = case when $12::text is null then attempts else 0 end,
                completed_at = case when $12::text is null then completed_at else null end,
                updated_at = now()
          where project_id = $1 and key = $2 and status = any($11::text[]) returning id`,
        [
          projectId,
          p.key,
          p.title,
          p.description,
          p.type,
          p.phase,
          p.agent_type,
          p.priority,
          p.requirement_hash,
          JSON.stringify(p.payload),
          fromStatuses,
          toStatus,
        ],
      );
      for (const r of rows) {
        into.push(t.key);
        await recordEvent(db, {
          projectId,
          kind,
          subjectType: 'task',
          subjectId: r.id,
          actor,
          data: { key: t.key, reason: 'requirement changed' },
        });
      }
    }
  };
  await rewrite(change.update, ['pending', 'blocked', 'queued'], null, 'task.updated', result.updated);
  await rewrite(change.restart, ['running'], 'pending', 'task.restarted', result.restarted);
  await rewrite(
    change.reopen,
    ['completed', 'failed', 'dead_letter', 'cancelled'],
    'pending',
    'task.reopened',
    result.reopened,
  );
  if (change.cancel.length) {
    const { rows } = await db.query<{ id: string; key: string }>(
      // The sentinel hash lets a task that comes back into the plan be reopened,
      // while one a person cancelled keeps its real hash and stays cancelled.
      `update tasks set status = 'cancelled', requirement_hash = $3, completed_at = now(), updated_at = now()
        where project_id = $1 and key = any($2::text[]) and status not in ('completed', 'cancelled')
        returning id, key`,
      [projectId, change.cancel, CANCELLED_HASH],
    );
    for (const r of rows) {
      result.cancelled.push(r.key);
      // remove_job deletes an unlocked job and defuses a locked one (a runner
      // working on it sees the cancelled row when it settles). A failing
      // statement would abort the whole transaction, so no catch-and-ignore here.
      await removeTaskJobs(db, [r.id]);
      await recordEvent(db, {
        projectId,
        kind: 'task.cancelled',
        subjectType: 'task',
        subjectId: r.id,
        actor,
        data: { key: r.key, reason: 'no longer in the plan' },
      });
    }
  }
  // Dependencies follow the whole desired plan, so edits to them apply too.
  const edges = allTasks.flatMap((t) => t.dependsOn.map((d) => ({ task: t.key, dep: d })));
  await db.query(
    `delete from task_dependencies td using tasks t
      where td.task_id = t.id and t.project_id = $1`,
    [projectId],
  );
  if (edges.length) {
    await db.query(
      `insert into task_dependencies (task_id, depends_on)
       select a.id, b.id from jsonb_to_recordset($2::jsonb) as e(task text, dep text)
         join tasks a on a.project_id = $1 and a.key = e.task
         join tasks b on b.project_id = $1 and b.key = e.dep
       on conflict do nothing`,
      [projectId, JSON.stringify(edges)],
    );
  }
  return result;
}

/** What is recorded for each task of the project, for the plan diff. Reads only. */
export async function recordedTasks(db: Queryable, projectId: string): Promise<RecordedTask[]> {
  const { rows } = await db.query<{
    key: string;
    status: RecordedTask['status'];
    requirement_key: string | null;
    requirement_hash: string | null;
    phase: string;
    agent_type: string;
    priority: number;
    depends_on: string[];
    areas: unknown;
    criteria: unknown;
  }>(
    `select t.key, t.status, r.key as requirement_key, t.requirement_hash, t.phase, t.agent_type, t.priority,
            coalesce(array_agg(dt.key order by dt.key) filter (where dt.key is not null), '{}') as depends_on,
            t.payload->'areas' as areas, t.payload->'acceptanceCriteria' as criteria
       from tasks t
       left join requirements r on r.id = t.requirement_id
       left join task_dependencies d on d.task_id = t.id
       left join tasks dt on dt.id = d.depends_on
      where t.project_id = $1
      group by t.id, r.key`,
    [projectId],
  );
  return rows.map((r) => ({
    key: r.key,
    status: r.status,
    requirementKey: r.requirement_key,
    requirementHash: r.requirement_hash,
    phase: r.phase,
    agentType: r.agent_type,
    dependsOn: r.depends_on,
    priority: r.priority,
    // Rows written without areas or criteria (seeded, or older versions) are not compared on them.
    ...(Array.isArray(r.areas) ? { areas: r.areas.map(String) } : {}),
    ...(Array.isArray(r.criteria) ? { acceptanceCriteria: r.criteria.map(String) } : {}),
  }));
}

/** The prd_analyses record: an agent's structured work breakdown of a PRD, per PRD + config content. */
export async function upsertAnalysis(
  db: Queryable,
  a: {
    projectId: string;
    revisionId: string | null;
    prdHash: string;
    configHash: string;
    summary: string | null;
    breakdown: unknown;
    attempts: number;
    costUsd: number;
  },
): Promise<string> {
  const r = await one(
    db,
    IdRow,
    sql`insert into prd_analyses (project_id, revision_id, prd_hash, config_hash, summary, breakdown, attempts, cost_usd)
        values (${a.projectId}, ${a.revisionId}, ${a.prdHash}, ${a.configHash}, ${a.summary},
                ${JSON.stringify(a.breakdown)}, ${a.attempts}, ${a.costUsd})
        on conflict (project_id, prd_hash, config_hash) do update set
          breakdown = excluded.breakdown, summary = excluded.summary, attempts = excluded.attempts,
          cost_usd = prd_analyses.cost_usd + excluded.cost_usd, inserted_at = now()
        returning id`,
  );
  return r.id;
}

/** The breakdown recorded for exactly this PRD + config content, if any. */
export async function findAnalysis(
  db: Queryable,
  projectId: string,
  prdHash: string,
  configHash: string,
): Promise<string | null> {
  const r = await maybeOne(
    db,
    IdRow,
    sql`select id from prd_analyses
         where project_id = ${projectId} and prd_hash = ${prdHash} and config_hash = ${configHash}`,
  );
  return r?.id ?? null;
}

const Breakdown = z.object({
  breakdown: z
    .object({ summary: z.string().optional(), tasks: z.array(z.record(z.string(), z.unknown())).optional() })
    .loose(),
});

/** The newest breakdown recorded for the project, as stored. */
export async function newestBreakdown(
  db: Queryable,
  projectId: string,
): Promise<z.output<typeof Breakdown>['breakdown'] | null> {
  const r = await maybeOne(
    db,
    Breakdown,
    sql`select breakdown from prd_analyses where project_id = ${projectId} order by inserted_at desc, id limit 1`,
  );
  return r?.breakdown ?? null;
}

const CurrentRevision = z.object({
  id: z.string(),
  commit_sha: z.string().nullable(),
  content: z.string(),
  content_hash: z.string(),
  config_hash: z.string(),
  config: z.record(z.string(), z.unknown()),
  project_config: z.unknown(),
});
export type CurrentRevision = z.output<typeof CurrentRevision>;

/** The project's current PRD revision (what a breakdown re-plan refines), with the project's configuration. */
export async function currentRevision(db: Queryable, projectId: string): Promise<CurrentRevision | null> {
  return maybeOne(
    db,
    CurrentRevision,
    sql`select r.id, r.commit_sha, r.content, r.content_hash, r.config_hash, r.config, p.config as project_config
          from projects p join prd_revisions r on r.id = p.current_revision_id where p.id = ${projectId}`,
  );
}

/**
 * The revision a re-plan from a breakdown is recorded as: `base` (same commit,
 * PRD and samgita.yaml) refined by analysis `analysisId`, source 'breakdown'
 * (migration 0700), made the project's current revision. The same analysis of
 * the same revision twice is one revision.
 */
export async function recordBreakdownRevision(
  db: Queryable,
  projectId: string,
  baseId: string,
  analysisId: string,
): Promise<{ id: string; created: boolean }> {
  const r = await one(
    db,
    IdCreatedRow,
    sql`with base as (select * from prd_revisions where id = ${baseId} and project_id = ${projectId}),
        ins as (
          insert into prd_revisions (project_id, commit_sha, content, content_hash, config, config_hash, source, analysis_id)
          select project_id, commit_sha, content, content_hash, config, config_hash, 'breakdown', ${analysisId} from base
          on conflict do nothing returning id),
        found as (
          select coalesce((select id from ins), (
            select r.id from prd_revisions r join base b on r.project_id = b.project_id
             where r.commit_sha is not distinct from b.commit_sha and r.content_hash = b.content_hash
               and r.config_hash = b.config_hash and r.analysis_id = ${analysisId})) as id),
        moved as (update projects set current_revision_id = (select id from found), updated_at = now()
                   where id = ${projectId} and (select id from found) is not null)
        select id, exists (select 1 from ins) as created from found`,
  );
  return r;
}

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defaultConfig, type SamgitaConfig, samgitaConfigSchema } from '../../config/samgita-yaml/index.js';
import { formatPlanDiff } from '../../planner/format.js';
import { reconcileProject } from '../../reconcile/reconcile.js';
import { withTransaction } from '../../store/pool.js';
import { type ApiContext, actorOf } from '../context.js';
import { badInput, conflict, notFound } from '../errors.js';
import { commitGitHubPrd } from '../github-prd.js';
import { savePrd } from '../prd.js';
import { findLocalClone, normalizeGitUrl, originOf } from '../repo-locate.js';
import { routeSchema } from '../route-schema.js';
import { IdParams, PHASES, PROJECT_STATUSES, PrdRevision } from '../schema.js';

/**
 * Read models for the status page: what the page needs in one request per view
 * (project list with progress, the agents grid, cost rollups, the plan diff of
 * a PRD edit, clone suggestions). Same conventions as every other route: zod
 * schemas, the one error body, keys with read/write scope.
 */

const tags = ['ui'];
const uuid = z.string().meta({ format: 'uuid' });
const ts = z.string().meta({ format: 'date-time' });

export const UiProject = z.object({
  id: uuid,
  name: z.string(),
  git_url: z.string(),
  source: z.string(),
  phase: z.enum(PHASES),
  status: z.enum(PROJECT_STATUSES),
  status_reason: z.string().nullable(),
  cost_usd: z.number(),
  tokens_total: z.number(),
  tasks_total: z.number().int(),
  tasks_done: z.number().int().meta({ description: 'completed or cancelled' }),
  tasks_running: z.number().int(),
  tasks_failed: z.number().int().meta({ description: 'failed or dead letter' }),
  agents_active: z.number().int(),
  updated_at: ts,
});

const UiProjectList = z.object({ data: z.array(UiProject) });
const UiProjectQuery = z.object({
  include_archived: z.boolean().default(false),
  id: uuid.optional().meta({ description: 'only this project (used for live refreshes)' }),
});

export const UiAgent = z.object({
  id: uuid,
  project_id: uuid,
  project_name: z.string(),
  agent_type: z.string(),
  status: z.string().meta({ description: 'RARV step (reason/act/reflect/verify) or the final status' }),
  model: z.string().nullable(),
  node: z.string(),
  runner_id: uuid.nullable(),
  runner_host: z.string().nullable(),
  runner_name: z.string().nullable(),
  task_id: uuid.nullable(),
  task_key: z.string().nullable(),
  task_title: z.string().nullable(),
  rarv_loop: z.number().int().nullable(),
  attempt: z.number().int(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  started_at: ts,
  ended_at: ts.nullable(),
  elapsed_ms: z.number(),
});
const UiAgentList = z.object({ data: z.array(UiAgent) });
const UiAgentQuery = z.object({
  project_id: uuid.optional(),
  id: uuid.optional(),
  active: z.boolean().default(true).meta({ description: 'only runs that have not ended (plus the last 20 ended)' }),
  limit: z.number().int().min(1).max(500).default(200),
});

const CostRow = z.object({
  key: z.string(),
  cost_usd: z.number(),
  tokens: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
});
const UiCosts = z.object({
  total: CostRow,
  by_project: z.array(CostRow.extend({ name: z.string() })),
  by_phase: z.array(CostRow),
  by_agent_type: z.array(CostRow),
  by_day: z.array(CostRow),
});
const UiCostQuery = z.object({
  project_id: uuid.optional(),
  days: z.number().int().min(1).max(366).default(30),
});

const PlanAction = z.object({
  type: z.enum(['create', 'update', 'restart', 'reopen', 'cancel']),
  key: z.string(),
  phase: z.string(),
  title: z.string().nullable(),
  agent_type: z.string().nullable(),
  detail: z.string(),
});
const PlanPreview = z.object({
  summary: z.object({
    create: z.number().int(),
    change: z.number().int(),
    cancel: z.number().int(),
    total: z.number().int(),
    text: z.string(),
  }),
  actions: z.array(PlanAction),
  diff: z.string().meta({ description: 'terraform-plan-like text' }),
  warnings: z.array(z.string()),
  save: z.object({
    allowed: z.boolean(),
    via: z.enum(['api', 'github']),
    message: z.string().nullable(),
  }),
});
const PrdBody = z.object({
  content: z.string().min(1),
  source: z.enum(['api', 'upload']).default('api'),
});

const RepoSuggestQuery = z.object({
  git_url: z.string().max(2000).optional(),
  name: z.string().max(200).optional(),
});
const RepoSuggestions = z.object({
  detected: z.string().nullable().meta({ description: 'a local clone of git_url, when one exists' }),
  clone_to: z.string().meta({ description: 'where the server would clone it otherwise' }),
  suggestions: z.array(z.object({ path: z.string(), origin: z.string().nullable() })),
});

const Requirement = z.object({
  id: uuid,
  key: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  priority: z.string().nullable(),
  section_path: z.array(z.string()),
  line: z.number().int().nullable(),
  status: z.string(),
});

function cleanName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'project'
  );
}

async function gitDirsUnder(roots: readonly string[], max: number): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
    while (queue.length && out.length < max) {
      const { dir, depth } = queue.shift()!;
      try {
        if ((await stat(path.join(dir, '.git'))).isDirectory()) {
          out.push(dir);
          continue;
        }
      } catch {
        // not a repository
      }
      if (depth >= 2) continue;
      try {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') {
            queue.push({ dir: path.join(dir, e.name), depth: depth + 1 });
          }
        }
      } catch {
        // unreadable
      }
    }
  }
  return out;
}

function configOf(raw: unknown): SamgitaConfig {
  const parsed = samgitaConfigSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : defaultConfig();
}

export async function uiRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Querystring: z.infer<typeof UiProjectQuery> }>(
    '/api/ui/projects',
    {
      schema: routeSchema({
        tags,
        summary: 'Projects with progress, cost and active agents (status page list)',
        query: UiProjectQuery,
        response: { 200: UiProjectList },
      }),
    },
    async (req) => {
      const params: unknown[] = [];
      const where: string[] = [];
      if (!req.query.include_archived && !req.query.id) where.push(`p.status <> 'archived'`);
      if (req.query.id) where.push(`p.id = $${params.push(req.query.id)}`);
      const { rows } = await ctx.pool.query(
        `select p.id, p.name, p.git_url, p.source, p.phase, p.status, p.status_reason, p.cost_usd, p.updated_at,
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
          ${where.length ? `where ${where.join(' and ')}` : ''}
          order by p.inserted_at desc, p.id desc limit 500`,
        params,
      );
      return { data: rows };
    },
  );

  app.get<{ Querystring: z.infer<typeof UiAgentQuery> }>(
    '/api/ui/agents',
    {
      schema: routeSchema({
        tags,
        summary: 'The agents grid: runs with their task, RARV step, model, runner host, elapsed time and tokens',
        query: UiAgentQuery,
        response: { 200: UiAgentList },
      }),
    },
    async (req) => {
      const q = req.query;
      const params: unknown[] = [q.limit];
      const where: string[] = [];
      if (q.project_id) where.push(`a.project_id = $${params.push(q.project_id)}`);
      if (q.id) where.push(`a.id = $${params.push(q.id)}`);
      const filter = where.length ? `and ${where.join(' and ')}` : '';
      const select = `select a.id, a.project_id, p.name as project_name, a.agent_type, a.status, a.model, a.node,
                a.runner_id, r.host as runner_host, r.name as runner_name, a.current_task_id as task_id,
                t.key as task_key, t.title as task_title, t.rarv_loop, a.attempt, a.total_tokens, a.cost_usd,
                a.started_at, a.ended_at,
                (extract(epoch from coalesce(a.ended_at, now()) - a.started_at) * 1000)::float8 as elapsed_ms
           from agent_runs a
           join projects p on p.id = a.project_id
           left join runners r on r.id = a.runner_id
           left join tasks t on t.id = a.current_task_id`;
      const sql =
        q.active && !q.id
          ? `(${select} where a.ended_at is null ${filter} order by a.started_at desc limit $1)
             union all
             (${select} where a.ended_at is not null ${filter} order by a.ended_at desc limit 20)`
          : `${select} where true ${filter} order by a.started_at desc limit $1`;
      const { rows } = await ctx.pool.query(sql, params);
      return { data: rows };
    },
  );

  app.get<{ Querystring: z.infer<typeof UiCostQuery> }>(
    '/api/ui/costs',
    {
      schema: routeSchema({
        tags,
        summary: 'Cost and tokens per project, phase, agent type and day (FR-6.9)',
        description:
          'Phase and agent type come from tasks, days from agent runs (by start date, UTC), projects from their totals.',
        query: UiCostQuery,
        response: { 200: UiCosts },
      }),
    },
    async (req) => {
      const pid = req.query.project_id ?? null;
      const sums = `coalesce(sum(cost_usd), 0)::float8 as cost_usd,
        coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)::float8 as tokens,
        coalesce(sum(input_tokens), 0)::float8 as input_tokens, coalesce(sum(output_tokens), 0)::float8 as output_tokens`;
      const byProject = ctx.pool.query(
        `select id::text as key, name, ${sums} from projects
          where ($1::uuid is null or id = $1) and status <> 'archived'
          group by id order by 3 desc, name limit 100`,
        [pid],
      );
      const byPhase = ctx.pool.query(
        `select phase as key, ${sums} from tasks where ($1::uuid is null or project_id = $1) group by phase`,
        [pid],
      );
      const byType = ctx.pool.query(
        `select agent_type as key, ${sums} from tasks where ($1::uuid is null or project_id = $1)
          group by agent_type order by 2 desc, 1 limit 40`,
        [pid],
      );
      const byDay = ctx.pool.query(
        `select to_char(d.day, 'YYYY-MM-DD') as key,
                coalesce(sum(a.cost_usd), 0)::float8 as cost_usd, coalesce(sum(a.total_tokens), 0)::float8 as tokens,
                coalesce(sum(a.input_tokens), 0)::float8 as input_tokens,
                coalesce(sum(a.output_tokens), 0)::float8 as output_tokens
           from generate_series((now() at time zone 'utc')::date - ($2::int - 1), (now() at time zone 'utc')::date,
                                interval '1 day') d(day)
           left join agent_runs a on (a.started_at at time zone 'utc')::date = d.day
                                 and ($1::uuid is null or a.project_id = $1)
          group by d.day order by d.day`,
        [pid, req.query.days],
      );
      const [p, ph, ty, dy] = await Promise.all([byProject, byPhase, byType, byDay]);
      const order = (k: string) => (PHASES as readonly string[]).indexOf(k);
      const phases = ph.rows.sort((a, b) => order(a.key) - order(b.key));
      const total = p.rows.reduce(
        (acc, r) => ({
          key: 'total',
          cost_usd: acc.cost_usd + r.cost_usd,
          tokens: acc.tokens + r.tokens,
          input_tokens: acc.input_tokens + r.input_tokens,
          output_tokens: acc.output_tokens + r.output_tokens,
        }),
        { key: 'total', cost_usd: 0, tokens: 0, input_tokens: 0, output_tokens: 0 },
      );
      return { total, by_project: p.rows, by_phase: phases, by_agent_type: ty.rows, by_day: dy.rows };
    },
  );

  app.post<{ Params: z.infer<typeof IdParams>; Body: z.infer<typeof PrdBody> }>(
    '/api/ui/projects/:id/prd/preview',
    {
      config: { auth: 'read' },
      schema: routeSchema({
        tags,
        summary: 'The plan diff a PRD edit would cause, without saving anything (a dry-run reconcile)',
        params: IdParams,
        body: PrdBody,
        response: { 200: PlanPreview },
        errors: [404],
      }),
    },
    async (req) => {
      const project = await loadProject(ctx, req.params.id);
      const result = await reconcileProject(ctx.pool, {
        projectId: project.id,
        revisionId: null,
        prd: req.body.content,
        config: configOf(project.rev_config),
        dryRun: true,
        actor: actorOf(req),
      });
      const actions = result.actions.map((a) => ({
        type: a.type,
        key: a.key,
        phase: a.phase,
        title: 'task' in a ? a.task.title : null,
        agent_type: 'task' in a ? a.task.agentType : null,
        detail:
          a.type === 'create'
            ? 'new task'
            : a.type === 'cancel'
              ? a.reason === 'requirement_removed'
                ? 'requirement removed'
                : 'no longer in plan'
              : a.changes.join(', '),
      }));
      return {
        summary: result.summary,
        actions,
        diff: formatPlanDiff(result.actions),
        warnings: result.plan.warnings,
        save: saveMode(project, Boolean(ctx.commitPrd)),
      };
    },
  );

  app.put<{ Params: z.infer<typeof IdParams>; Body: z.infer<typeof PrdBody> }>(
    '/api/ui/projects/:id/prd',
    {
      bodyLimit: ctx.prdMaxBytes + 1024,
      schema: routeSchema({
        tags,
        summary: 'Save a PRD edited on the status page; re-plans the project (FR-6.3, FR-6.7)',
        description:
          'Like PUT /api/projects/:id/prd. For a project driven by the GitHub App the PRD lives in the repository, so this answers 409 until the app can commit PRD.md.',
        params: IdParams,
        body: PrdBody,
        response: { 200: PrdRevision },
        errors: [404, 409, 413],
      }),
    },
    async (req) => {
      const { content, source } = req.body;
      if (!content.trim()) throw badInput('content', 'the PRD is empty');
      if (Buffer.byteLength(content) > ctx.prdMaxBytes) {
        throw badInput('content', `the PRD is larger than ${ctx.prdMaxBytes} bytes`);
      }
      const project = await loadProject(ctx, req.params.id);
      const mode = saveMode(project, Boolean(ctx.commitPrd));
      if (!mode.allowed) throw conflict(mode.message ?? 'the PRD cannot be saved here');
      const actor = actorOf(req);
      if (mode.via === 'github' && ctx.commitPrd) return commitGitHubPrd(ctx, project.id, content, actor);
      const rev = await withTransaction(ctx.pool, (db) => savePrd(db, project.id, content, source, actor));
      if (rev.created && ctx.onPrdUpdated) {
        Promise.resolve()
          .then(() => ctx.onPrdUpdated?.({ projectId: project.id, revisionId: rev.id, source, actor }))
          .catch((err) => ctx.log.error({ err, projectId: project.id }, 'onPrdUpdated hook failed'));
      }
      return rev;
    },
  );

  app.get<{ Params: z.infer<typeof IdParams> }>(
    '/api/ui/requirements/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'A requirement of a PRD (what a task was planned from)',
        params: IdParams,
        response: { 200: Requirement },
        errors: [404],
      }),
    },
    async (req) => {
      const { rows } = await ctx.pool.query(
        'select id, key, kind, title, body, priority, section_path, line, status from requirements where id = $1',
        [req.params.id],
      );
      if (!rows[0]) throw notFound('requirement', req.params.id);
      return rows[0];
    },
  );

  app.get<{ Querystring: z.infer<typeof RepoSuggestQuery> }>(
    '/api/ui/repos/suggest',
    {
      schema: routeSchema({
        tags,
        summary: 'Local clone detection and path suggestions for creating a project (FR-6.2)',
        query: RepoSuggestQuery,
        response: { 200: RepoSuggestions },
      }),
    },
    async (req) => {
      const { git_url: gitUrl, name } = req.query;
      let detected: string | null = null;
      if (gitUrl) {
        try {
          normalizeGitUrl(gitUrl);
          detected = await findLocalClone(gitUrl, ctx.repoSearchRoots);
        } catch {
          detected = null;
        }
      }
      const dirs = await gitDirsUnder(ctx.repoSearchRoots, 50);
      const suggestions = await Promise.all(dirs.map(async (p) => ({ path: p, origin: await originOf(p, 2000) })));
      const guess = name || (gitUrl ? (gitUrl.split(/[/:]/).pop() ?? '').replace(/\.git$/, '') : '');
      return {
        detected,
        clone_to: path.join(ctx.env.samgitaHome, 'repos', cleanName(guess)),
        suggestions,
      };
    },
  );
}

interface ProjectForPrd {
  id: string;
  status: string;
  source: string;
  github_repo: string | null;
  rev_config: unknown;
}

async function loadProject(ctx: ApiContext, id: string): Promise<ProjectForPrd> {
  const { rows } = await ctx.pool.query<ProjectForPrd>(
    `select p.id, p.status, p.source, p.github_repo, r.config as rev_config
       from projects p left join prd_revisions r on r.id = p.current_revision_id where p.id = $1`,
    [id],
  );
  const p = rows[0];
  if (!p) throw notFound('project', id);
  return p;
}

function saveMode(
  p: ProjectForPrd,
  canCommit: boolean,
): { allowed: boolean; via: 'api' | 'github'; message: string | null } {
  if (p.status === 'archived' || p.status === 'cancelled') {
    return { allowed: false, via: 'api', message: `the project is ${p.status}; its PRD can no longer change` };
  }
  if (p.source === 'github') {
    return canCommit
      ? {
          allowed: true,
          via: 'github',
          message: `saving commits PRD.md to the default branch of ${p.github_repo ?? 'its repository'}; the push re-plans the project`,
        }
      : {
          allowed: false,
          via: 'github',
          message: `this project is driven by the GitHub App, which is not configured on this server: edit PRD.md on the default branch of ${p.github_repo ?? 'its repository'}`,
        };
  }
  return { allowed: true, via: 'api', message: null };
}
